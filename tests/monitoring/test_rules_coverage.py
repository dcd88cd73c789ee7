"""Every alert in monitoring/prometheus/rules/ has a promtool case where it fires and one where it
stays quiet, and a runbook section in docs/operations.md (the file its runbook_url names)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO_ROOT / "monitoring" / "prometheus"
OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"


def alert_rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def promtool_cases() -> dict[str, dict[str, int]]:
    """alertname -> how many evaluations expect it firing / quiet."""
    cases: dict[str, dict[str, int]] = defaultdict(lambda: {"firing": 0, "quiet": 0})
    for path in sorted((PROMETHEUS_DIR / "tests").glob("*.yml")):
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in test.get("alert_rule_test", []):
                kind = "firing" if check.get("exp_alerts") else "quiet"
                cases[check["alertname"]][kind] += 1
    return cases


def test_every_alert_fires_in_one_case_and_stays_quiet_in_another() -> None:
    cases = promtool_cases()
    names = {rule["alert"] for rule in alert_rules()}
    assert len(names) >= 34
    missing = {
        name: dict(cases.get(name, {"firing": 0, "quiet": 0}))
        for name in sorted(names)
        if not (cases.get(name, {}).get("firing") and cases.get(name, {}).get("quiet"))
    }
    assert missing == {}, f"alerts without a firing and a quiet promtool case: {missing}"


def test_every_alert_has_severity_annotations_and_a_runbook_section() -> None:
    headings = {
        re.sub(r"[^a-z0-9_ -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        assert annotations["description"], rule["alert"]
        document, _, anchor = annotations["runbook_url"].partition("#")
        assert document == "docs/operations.md", rule["alert"]
        assert anchor == rule["alert"].lower(), rule["alert"]
        assert anchor in headings, f"no runbook section for {rule['alert']}"
