"""The monitor's parsers on what the sources really answer: HAProxy's CSV (a real HAProxy with
haproxy/haproxy.compose.cfg, whose server-template slots DNS has not filled), replSetGetStatus
as pymongo and as mongosh's relaxed Extended JSON give it, Redis INFO text, `docker compose ps`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devcluster.ports import LOOPBACK, free_ports
from devcluster.process import ManagedProcess
from devcluster.tls import ensure_local_tls
from ops.deployments import parse_compose_ps
from ops.sources import (
    SourceError,
    backend_of,
    parse_haproxy_csv,
    parse_info,
    read_haproxy_csv,
    replica_set_from_status,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

CSV = (
    "# pxname,svname,status,check_status,scur,stot,hrsp_5xx,lastchg,act,addr,\n"
    "bots,bot1,UP,L7OK,2,40,1,120,1,,\n"
    "bots,bot2,DOWN,L4CON,0,7,0,30,1,,\n"
    "bots,bot3,MAINT,,0,0,0,5,1,,\n"
    "bots,bot4,MAINT (resolution),,0,0,0,5,1,,\n"
    "bots,BACKEND,UP,,2,47,1,120,1,,\n"
    "stats,FRONTEND,OPEN,,0,0,0,,,,\n"
)


def test_the_backend_lists_its_servers_and_leaves_out_unfilled_template_slots() -> None:
    backend = backend_of(parse_haproxy_csv(CSV), "bots")
    assert backend.status == "UP"
    assert backend.active_servers == 1
    assert [(s.name, s.status, s.in_rotation) for s in backend.servers] == [
        ("bot1", "UP", True),
        ("bot2", "DOWN", False),
        # put in maintenance by hand: out of rotation, and shown
        ("bot3", "MAINT", False),
    ]
    assert backend.servers[0].responses_5xx == 1
    assert backend.servers[0].last_change_seconds == 120


def test_a_page_that_is_not_the_csv_export_is_refused() -> None:
    with pytest.raises(SourceError, match="not the CSV export"):
        parse_haproxy_csv("<html>stats</html>")
    with pytest.raises(SourceError, match="no backend 'bots'"):
        backend_of(parse_haproxy_csv(CSV.replace("bots,", "other,")), "bots")


@pytest.fixture
def compose_haproxy(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The compose edge config on a real haproxy, outside Docker: `bot` does not resolve."""
    haproxy = shutil.which("haproxy")
    assert haproxy, "haproxy is missing: run scripts/install.sh"
    tls = ensure_local_tls(tmp_path / "tls")
    https, http, stats, metrics = free_ports(4)
    password = "stats-password-for-the-test"
    process = ManagedProcess(
        "haproxy-compose",
        [haproxy, "-db", "-f", str(REPO_ROOT / "haproxy" / "haproxy.compose.cfg")],
        log_dir=tmp_path,
        env={
            "HTTPS_BIND": f"{LOOPBACK}:{https}",
            "HTTP_BIND": f"{LOOPBACK}:{http}",
            "STATS_BIND": f"{LOOPBACK}:{stats}",
            "METRICS_BIND": f"{LOOPBACK}:{metrics}",
            "TLS_CERT_PEM": str(tls.haproxy_pem),
            "WEBHOOK_PATH": "/telegram/webhook",
            "WEBHOOK_SECRET_TOKEN": "a-webhook-secret-for-the-test",
            "STATS_PASSWORD": password,
        },
        stop_grace_seconds=5,
    )
    with process:
        process.wait_ready(port=stats, timeout=20)
        yield f"http://{LOOPBACK}:{stats}", password


def test_server_template_slots_without_an_address_are_no_servers(
    compose_haproxy: tuple[str, str],
) -> None:
    url, password = compose_haproxy
    backend = backend_of(parse_haproxy_csv(read_haproxy_csv(url, "admin", password)), "bots")
    # ten slots, none filled: no server, and the backend is down
    assert backend.servers == []
    assert backend.status == "DOWN"
    with pytest.raises(SourceError, match="refused"):
        read_haproxy_csv(url, "admin", "wrong-password")


def test_replica_set_status_as_pymongo_gives_it() -> None:
    now = datetime.now(UTC).replace(tzinfo=None)  # pymongo's default: naive UTC
    status = {
        "set": "fok-rs",
        "ok": 1.0,
        "members": [
            {"name": "mongo-1:27017", "stateStr": "PRIMARY", "health": 1.0, "optimeDate": now},
            {
                "name": "mongo-2:27017",
                "stateStr": "SECONDARY",
                "health": 1.0,
                "optimeDate": now - timedelta(seconds=4),
                "self": True,
            },
            {"name": "mongo-3:27017", "stateStr": "(not reachable/healthy)", "health": 0.0},
        ],
    }
    replica_set = replica_set_from_status(status)
    assert replica_set.set_name == "fok-rs"
    assert replica_set.primary == "mongo-1:27017"
    assert [(m.name, m.healthy, m.is_self) for m in replica_set.members] == [
        ("mongo-1:27017", True, False),
        ("mongo-2:27017", True, True),
        ("mongo-3:27017", False, False),
    ]
    assert replica_set.members[1].lag_seconds == pytest.approx(4)
    assert replica_set.members[2].lag_seconds is None


def test_replica_set_status_as_mongosh_prints_it() -> None:
    # EJSON.stringify(status, {relaxed: true})
    status = {
        "set": "fok-rs",
        "ok": 1,
        "members": [
            {
                "name": "mongo-1:27017",
                "stateStr": "SECONDARY",
                "health": 1,
                "optimeDate": {"$date": "2026-03-01T10:00:00.000Z"},
            },
            {
                "name": "mongo-2:27017",
                "stateStr": "PRIMARY",
                "health": 1,
                "optimeDate": {"$date": "2026-03-01T10:00:30.000Z"},
            },
        ],
    }
    replica_set = replica_set_from_status(status)
    assert replica_set.primary == "mongo-2:27017"
    assert replica_set.members[0].lag_seconds == pytest.approx(30)


def test_a_server_without_replication_is_standalone_and_other_failures_are_errors() -> None:
    standalone = replica_set_from_status(
        {"ok": 0, "code": 76, "errmsg": "not running with --replSet"}
    )
    assert standalone.standalone
    assert standalone.note == "not running with --replSet"
    with pytest.raises(SourceError, match="Unauthorized"):
        replica_set_from_status({"ok": 0, "code": 13, "errmsg": "Unauthorized"})


def test_redis_info_text_is_parsed() -> None:
    text = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n\r\n# Cluster\r\ncluster_enabled:1\r\n"
    assert parse_info(text) == {"role": "master", "connected_slaves": "1", "cluster_enabled": "1"}


def test_compose_ps_json_in_both_of_its_shapes() -> None:
    line_per_container = (
        '{"Name":"fok-bot-1","Service":"bot"}\n{"Name":"fok-bot-2","Service":"bot"}\n'
    )
    array = '[{"Name":"fok-bot-1","Service":"bot"},{"Name":"fok-bot-2","Service":"bot"}]'
    assert parse_compose_ps(line_per_container) == parse_compose_ps(array)
    assert [c["Name"] for c in parse_compose_ps(array)] == ["fok-bot-1", "fok-bot-2"]
    assert parse_compose_ps("") == []


def test_a_source_that_does_not_answer_names_itself() -> None:
    (port,) = free_ports(1)
    with pytest.raises(SourceError, match=f"{LOOPBACK}:{port}"):
        read_haproxy_csv(f"http://{LOOPBACK}:{port}", "admin", "x")
