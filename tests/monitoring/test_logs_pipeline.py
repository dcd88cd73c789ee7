"""Alloy and Loki read what the bot writes: the JSON fields Alloy parses, the labels it sets and
the timestamp layout it expects are checked against a real line from bot/infra/logs.py's
formatter, and the dashboards' LogQL selects only labels that exist.

No Loki, Alloy or Grafana binary can be installed here (no Debian package, no wheel, no Docker
engine), so the configs are read by the small parsers below rather than loaded by the programs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ALLOY_CONFIG = REPO_ROOT / "monitoring" / "alloy" / "config.alloy"
LOKI_CONFIG = REPO_ROOT / "monitoring" / "loki" / "loki.yml"
DASHBOARDS = sorted((REPO_ROOT / "monitoring" / "grafana" / "dashboards").glob("*.json"))
DATASOURCES = REPO_ROOT / "monitoring" / "grafana" / "provisioning" / "datasources"
LABELS = {"service", "instance", "level"}

# --- a reader for the Alloy syntax: blocks, attributes, strings, lists, maps -------------------

_TOKEN = re.compile(
    r'\s*(?:(?P<comment>//[^\n]*)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)'
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<punct>[{}\[\]=,]))"
)


@dataclass
class Block:
    name: str
    label: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def children(self, name: str) -> list[Block]:
        return [block for block in self.blocks if block.name == name]

    def child(self, name: str, label: str | None = None) -> Block:
        found = [b for b in self.children(name) if label is None or b.label == label]
        assert len(found) == 1, f"expected one {name} {label or ''} block, found {len(found)}"
        return found[0]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position:].strip():
                raise SyntaxError(f"unexpected {text[position : position + 20]!r}")
            break
        position = match.end()
        kind = match.lastgroup
        assert kind is not None
        if kind != "comment":
            tokens.append((kind, match.group(kind)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        if self.index + offset >= len(self.tokens):
            return ("end", "")
        return self.tokens[self.index + offset]

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1] != value):
            raise SyntaxError(f"expected {value!r}, got {token[1]!r}")
        self.index += 1
        return token

    def body(self, into: Block, closing: str | None) -> Block:
        while self.peek()[1] != (closing or "") and self.peek()[0] != "end":
            kind, name = self.take()
            if kind != "name":
                raise SyntaxError(f"expected a name, got {name!r}")
            if self.peek()[1] == "=":
                self.take("=")
                if name in into.attributes:
                    raise SyntaxError(f"{name} set twice in {into.name}")
                into.attributes[name] = self.value()
                continue
            label = None
            if self.peek()[0] == "string":
                label = json.loads(self.take()[1])
            self.take("{")
            into.blocks.append(self.body(Block(name, label), "}"))
        if closing is not None:
            self.take(closing)
        return into

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return json.loads(text)
        if kind == "number":
            return float(text)
        if kind == "name":
            return {"true": True, "false": False}.get(text, ("ref", text))
        if text == "[":
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("]")
            return items
        if text == "{":
            mapping = {}
            while self.peek()[1] != "}":
                key = self.take()[1]
                self.take("=")
                mapping[json.loads(key) if key.startswith('"') else key] = self.value()
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("}")
            return mapping
        raise SyntaxError(f"unexpected {text!r}")


def parse_alloy(text: str) -> Block:
    parser = _Parser(_tokens(text))
    root = parser.body(Block("root"), None)
    if parser.peek()[0] != "end":
        raise SyntaxError(f"unexpected {parser.peek()[1]!r} at the top level")
    return root


def test_the_reader_refuses_broken_alloy_syntax() -> None:
    with pytest.raises(SyntaxError):
        parse_alloy('loki.write "x" { endpoint { url = "http://loki" }')  # a brace short
    with pytest.raises(SyntaxError):
        parse_alloy('stage.json { expressions = { level = "" } level = "x" level = "y" }')


# --- the real log line ------------------------------------------------------------------------

LOG_PROGRAM = """
import logging
from bot.infra.logs import bind, configure_logging

configure_logging(instance="bot2")
bind(update_id=4242, chat_id=1001, user_id=1001, handler="catalog", correlation_id="u4242")
logging.getLogger("bot.web.pipeline").error("handler failed")
logging.getLogger("bot.web.pipeline").warning("slow answer")
"""


@pytest.fixture(scope="module")
def bot_log_lines() -> list[dict[str, Any]]:
    """JSON records exactly as a bot process writes them to stderr."""
    result = subprocess.run(
        [sys.executable, "-c", LOG_PROGRAM],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=REPO_ROOT,
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert len(lines) == 2, result.stderr
    return lines


@pytest.fixture(scope="module")
def alloy() -> Block:
    return parse_alloy(ALLOY_CONFIG.read_text(encoding="utf-8"))


def _process_stages(alloy: Block) -> Block:
    return alloy.child("loki.process", "json_logs")


def test_alloy_parses_fields_the_bot_writes(
    alloy: Block, bot_log_lines: list[dict[str, Any]]
) -> None:
    expressions = _process_stages(alloy).child("stage.json").attributes["expressions"]
    fields = {source or name for name, source in expressions.items()}
    assert fields == {"time", "level", "instance"}
    for record in bot_log_lines:
        assert fields <= set(record), record
    assert {record["level"] for record in bot_log_lines} == {"ERROR", "WARNING"}
    assert {record["instance"] for record in bot_log_lines} == {"bot2"}


def test_alloy_sets_exactly_service_instance_and_level(
    alloy: Block, bot_log_lines: list[dict[str, Any]]
) -> None:
    stages = _process_stages(alloy)
    extracted = set(stages.child("stage.json").attributes["expressions"])
    from_lines = stages.child("stage.labels").attributes["values"]
    assert set(from_lines) <= extracted, "a label from a field the json stage does not extract"
    rules = alloy.child("discovery.relabel", "fok").children("rule")
    from_targets = {
        rule.attributes["target_label"] for rule in rules if "target_label" in rule.attributes
    }
    assert set(from_lines) | from_targets == LABELS
    # the correlation fields the bot writes stay in the line
    correlation = {"update_id", "chat_id", "user_id", "handler", "correlation_id"}
    assert correlation <= set(bot_log_lines[0])
    assert not correlation & (set(from_lines) | from_targets)


def _service_of(rules: list[Block], compose_service: str) -> str | None:
    """What the relabel rules make of a compose service name (keep, then target_label)."""
    service = None
    for rule in rules:
        regex = re.compile(f"^(?:{rule.attributes['regex']})$")
        match = regex.match(compose_service)
        if rule.attributes.get("action") == "keep":
            if match is None:
                return None
        elif match is not None and rule.attributes.get("target_label") == "service":
            service = match.expand(str(rule.attributes.get("replacement", "$1")).replace("$", "\\"))
    return service


def test_compose_services_map_to_service_labels(alloy: Block) -> None:
    rules = alloy.child("discovery.relabel", "fok").children("rule")
    assert {name: _service_of(rules, name) for name in ("bot1", "bot3", "worker", "beat")} == {
        "bot1": "bot",
        "bot3": "bot",
        "worker": "worker",
        "beat": "beat",
    }
    assert _service_of(rules, "mongo1") is None
    assert _service_of(rules, "haproxy") is None


def test_alloy_timestamp_layout_reads_the_bot_time(
    alloy: Block, bot_log_lines: list[dict[str, Any]]
) -> None:
    stage = _process_stages(alloy).child("stage.timestamp")
    assert (
        stage.attributes["source"]
        in _process_stages(alloy).child("stage.json").attributes["expressions"]
    )
    go_layout = stage.attributes["format"]
    python_format = go_layout
    for go, python in (("2006", "%Y"), ("01", "%m"), ("02", "%d"), ("15", "%H"), ("04", "%M")):
        python_format = python_format.replace(go, python)
    python_format = python_format.replace("05,000", "%S,%f")
    for record in bot_log_lines:
        parsed = datetime.strptime(record[stage.attributes["source"]], python_format)
        assert parsed.microsecond % 1000 == 0  # milliseconds, as ",000" says


def test_alloy_pipeline_is_wired_to_loki(alloy: Block) -> None:
    source = alloy.child("loki.source.docker", "fok")
    assert source.attributes["targets"] == ("ref", "discovery.relabel.fok.output")
    assert source.attributes["forward_to"] == [("ref", "loki.process.json_logs.receiver")]
    assert _process_stages(alloy).attributes["forward_to"] == [("ref", "loki.write.loki.receiver")]
    url = alloy.child("loki.write", "loki").child("endpoint").attributes["url"]
    loki = yaml.safe_load(LOKI_CONFIG.read_text(encoding="utf-8"))
    assert url == f"http://loki:{loki['server']['http_listen_port']}/loki/api/v1/push"
    grafana = yaml.safe_load((DATASOURCES / "datasources.yml").read_text(encoding="utf-8"))
    (loki_source,) = [s for s in grafana["datasources"] if s["type"] == "loki"]
    assert loki_source["url"] == f"http://loki:{loki['server']['http_listen_port']}"


def test_loki_config_keeps_a_month_on_the_tsdb_schema() -> None:
    loki = yaml.safe_load(LOKI_CONFIG.read_text(encoding="utf-8"))
    assert loki["auth_enabled"] is False
    (period,) = loki["schema_config"]["configs"]
    assert (period["store"], period["schema"], period["object_store"]) == (
        "tsdb",
        "v13",
        "filesystem",
    )
    assert loki["compactor"]["retention_enabled"] is True
    assert loki["limits_config"]["retention_period"] == "744h"
    assert loki["limits_config"]["max_label_names_per_series"] >= len(LABELS) + 1


# --- LogQL in the dashboards --------------------------------------------------------------------


def _loki_queries() -> list[tuple[str, str]]:
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            for target in panel.get("targets", []):
                if target["datasource"]["type"] == "loki":
                    found.append((panel["title"], target["expr"]))
    return found


def test_dashboard_logql_selects_labels_alloy_sets(
    alloy: Block, bot_log_lines: list[dict[str, Any]]
) -> None:
    queries = _loki_queries()
    assert len(queries) >= 3
    rules = alloy.child("discovery.relabel", "fok").children("rule")
    services = {_service_of(rules, name) for name in ("bot1", "worker", "beat")}
    for title, expr in queries:
        selector = re.match(r"\{([^}]*)\}", expr)
        assert selector, (title, expr)
        matchers = re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', selector.group(1))
        assert matchers, (title, expr)
        for label, operator, value in matchers:
            assert label in LABELS, (title, label)
            if label == "service" and operator == "=":
                assert value in services, (title, value)
            if label == "level":
                assert re.fullmatch(value, "ERROR"), (title, value)
        # fields filtered after `| json` are fields the bot writes
        assert "| json" in expr, (title, expr)
        for name in re.findall(r"\|\s*(\w+)\s*(?:!=|=~|!~|=|>|<)", expr.split("| json", 1)[1]):
            assert name in bot_log_lines[0], (title, name)
