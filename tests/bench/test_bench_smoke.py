"""The bench's smallest configuration runs end to end and its report is complete.

Only shape and correctness: every field is there, no update was lost, answered twice or refused,
and the journeys left the database as they should. No speed is asserted (the machine is shared).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

PHASE_FIELDS = {
    "seconds",
    "updates",
    "updates_per_s",
    "latency_ms",
    "errors",
    "lost",
    "duplicates",
    "stuck_journeys",
}


def test_quick_bench_reports_every_field_and_passes_its_checks(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--only",
            "ceiling,ours",
            "--instances",
            "1",
            # Long enough for some registrations to finish on a loaded machine (at 24 updates/s
            # with 3 s, none had: the database check then had nothing to check, and failed).
            "--saturation-s",
            "8",
            "--open-s",
            "2",
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        check=True,
        timeout=380,
    )
    report = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    assert report["machine"]["nproc"] >= 1
    assert report["machine"]["cpu_model"]
    results = {r["target"]: r for r in report["results"]}
    assert set(results) == {"ceiling", "ours-1"}
    for result in results.values():
        assert "error" not in result, result
        phases = [result["saturation"], *result["open_loop"].values()]
        assert set(result["open_loop"]) == {"25%", "50%", "80%"}
        for phase in phases:
            assert set(phase) >= PHASE_FIELDS, phase
            assert set(phase["latency_ms"]) >= {"p50", "p95", "p99", "max"}
            assert phase["updates"] > 0
            assert phase["lost"] == 0, phase
            assert phase["duplicates"] == 0, phase
            assert phase["errors"] == {}, phase
            assert phase["stuck_journeys"] == 0, phase
        for tier in ("bots", "haproxy", "redis", "database", "driver", "sink"):
            assert tier in result["cpu_s_per_1000_updates"]
            assert tier in result["rss_mb"]
        assert result["stray_replies"] == 0
    check = results["ours-1"]["database_check"]
    assert check["ok"], check
    assert check["registered"]["expected"] > 0


@pytest.mark.timeout(600)
def test_broadcast_and_reminder_runs_deliver_everything_once_without_a_429(tmp_path: Path) -> None:
    """The bulk-send runs with small numbers: everyone got the message once and the emulator
    refused nothing. Their rates are the bench's figures, never asserted here."""
    out = tmp_path / "bench"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--only",
            "broadcast,reminders",
            "--broadcast-recipients",
            "40",
            "--broadcast-concurrency",
            "2",
            "--reminders-due",
            "40",
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        check=True,
        timeout=560,
    )
    report = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    broadcast = report["broadcast"]
    assert "error" not in broadcast, broadcast
    assert broadcast["concurrency"] == 2
    assert broadcast["delivered"] == broadcast["received_once"] == 40, broadcast
    assert (broadcast["received_twice_or_more"], broadcast["received_none"]) == (0, 0), broadcast
    assert broadcast["too_many_requests"] == 0, broadcast
    assert broadcast["msg_per_s"] is not None, broadcast
    pacing = report["broadcast_pacing"]
    assert "error" not in pacing, pacing
    assert pacing["delivered"] == pacing["sends"] == 40, pacing
    assert pacing["too_many_requests"] == 0, pacing
    reminders = report["reminders"]
    assert "error" not in reminders, reminders
    assert reminders["delivered"] == reminders["sent"] == reminders["due"] == 40, reminders
    assert reminders["duplicates"] == 0, reminders
    assert reminders["too_many_requests"] == 0, reminders
    assert reminders["reminder_statuses"] == {"sent": 40}, reminders
    assert reminders["msg_per_s"] is not None, reminders
    assert reminders["budget_per_s"] == 30
