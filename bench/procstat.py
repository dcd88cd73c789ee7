"""CPU seconds and RSS of processes, from /proc (utime + stime of each process, children
included only when they are listed: a gunicorn master's workers are found by their parent)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: split after its closing parenthesis
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except OSError:
        return 0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def with_children(pid: int) -> list[int]:
    return [pid, *children(pid)]


@dataclass
class Tiers:
    """Processes grouped by tier: ``{"bots": [pids], "haproxy": [...], ...}``."""

    pids: dict[str, list[int]]

    def cpu(self) -> dict[str, float]:
        return {tier: sum(cpu_seconds(p) for p in pids) for tier, pids in self.pids.items()}

    def rss(self) -> dict[str, list[int]]:
        return {tier: [rss_bytes(p) for p in pids] for tier, pids in self.pids.items()}
