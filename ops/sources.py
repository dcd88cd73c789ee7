"""The monitor's sources, one reader each: HAProxy's stats CSV, a bot instance's /health/detailed,
Prometheus' and Alertmanager's HTTP APIs, MongoDB's replSetGetStatus and Redis' INFO / CLUSTER INFO.

Parsers take what the source answered (text, JSON, a command's document) so that the local
cluster (read directly) and the compose deployment (read through `docker compose exec`) share
them. A source that cannot be read raises SourceError with what failed.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import httpx

HTTP_TIMEOUT_SECONDS = 5.0


class SourceError(Exception):
    """A source did not answer, or answered something unreadable; the message says which."""


def _get(
    url: str, *, auth: tuple[str, str] | None = None, params: Mapping[str, str] | None = None
) -> httpx.Response:
    try:
        return httpx.get(url, auth=auth, params=params, timeout=HTTP_TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        raise SourceError(f"{url}: {type(error).__name__}: {error}") from error


# --- HAProxy -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyServer:
    """One server line of a backend in HAProxy's stats CSV."""

    name: str
    address: str
    status: str
    check: str
    sessions: int
    total_sessions: int
    responses_5xx: int
    last_change_seconds: int | None

    @property
    def in_rotation(self) -> bool:
        # "UP", or "UP 1/2" (one failed check, still taking traffic).
        return self.status.startswith("UP")


@dataclass(frozen=True)
class Backend:
    name: str
    status: str
    active_servers: int
    servers: list[ProxyServer]


def parse_haproxy_csv(text: str) -> list[dict[str, str]]:
    """Rows of `GET /;csv` as dicts keyed by the header (pxname, svname, status, ...)."""
    if not text.startswith("# "):
        raise SourceError("HAProxy stats: not the CSV export (no '# pxname,...' header)")
    return list(csv.DictReader(io.StringIO(text[2:])))


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def backend_of(rows: list[dict[str, str]], backend: str) -> Backend:
    """The backend's summary and its servers; slots of a `server-template` that DNS has not
    filled ("MAINT (resolution)") are not servers yet and are left out."""
    summary = next(
        (r for r in rows if r.get("pxname") == backend and r.get("svname") == "BACKEND"), None
    )
    if summary is None:
        raise SourceError(f"HAProxy stats: no backend {backend!r}")
    servers = []
    for row in rows:
        if row.get("pxname") != backend or row.get("svname") in {"FRONTEND", "BACKEND"}:
            continue
        status = row.get("status", "")
        if "(resolution)" in status:
            continue
        servers.append(
            ProxyServer(
                name=row.get("svname", ""),
                address=row.get("addr", ""),
                status=status,
                check=row.get("check_status", "") or row.get("check_desc", ""),
                sessions=_int(row.get("scur")),
                total_sessions=_int(row.get("stot")),
                responses_5xx=_int(row.get("hrsp_5xx")),
                last_change_seconds=_int(row.get("lastchg")) if row.get("lastchg") else None,
            )
        )
    return Backend(
        name=backend,
        status=summary.get("status", ""),
        active_servers=_int(summary.get("act")),
        servers=servers,
    )


def read_haproxy_csv(stats_url: str, user: str, password: str) -> str:
    url = stats_url.rstrip("/") + "/;csv"
    response = _get(url, auth=(user, password))
    if response.status_code == 401:
        raise SourceError(f"{stats_url}: the stats password was refused (401)")
    if response.status_code != 200:
        raise SourceError(f"{stats_url}: HTTP {response.status_code}")
    return response.text


# --- bot instances ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceHealth:
    """/health/detailed of one bot instance (status ok | degraded), or why it could not be read."""

    name: str
    address: str
    detail: dict[str, Any] | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        if self.detail is None:
            return "unreachable"
        return str(self.detail.get("status", "unknown"))

    @property
    def healthy(self) -> bool:
        return self.status == "ok"

    def failing_dependencies(self) -> list[str]:
        if self.detail is None:
            return []
        return [
            f"{d.get('name')}: {d.get('error') or 'not ok'}"
            for d in self.detail.get("dependencies", [])
            if not d.get("ok")
        ]


def parse_health(name: str, address: str, body: str) -> InstanceHealth:
    try:
        detail = json.loads(body)
    except ValueError:
        return InstanceHealth(name, address, error=f"not JSON: {body[:120]!r}")
    if not isinstance(detail, dict) or "status" not in detail:
        return InstanceHealth(name, address, error=f"not a health document: {body[:120]!r}")
    return InstanceHealth(name, address, detail=detail)


def read_instance_health(name: str, base_url: str) -> InstanceHealth:
    """GET /health/detailed: 200 when healthy, 503 with the same JSON when degraded."""
    address = base_url.split("://", 1)[-1]
    try:
        response = _get(base_url.rstrip("/") + "/health/detailed")
    except SourceError as error:
        return InstanceHealth(name, address, error=str(error))
    if response.status_code not in {200, 503}:
        return InstanceHealth(name, address, error=f"HTTP {response.status_code}")
    return parse_health(name, address, response.text)


# --- Prometheus and Alertmanager -------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


class Prometheus:
    """The HTTP API of one Prometheus (instant queries, targets, rule alerts)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _api(self, path: str, **params: str) -> Any:
        response = _get(f"{self.base_url}/api/v1/{path}", params=params)
        try:
            body = response.json()
        except ValueError as error:
            raise SourceError(
                f"Prometheus {path}: HTTP {response.status_code}, not JSON"
            ) from error
        if body.get("status") != "success":
            raise SourceError(f"Prometheus {path}: {body.get('error', response.status_code)}")
        return body["data"]

    def query(self, expr: str) -> list[Sample]:
        data = self._api("query", query=expr)
        if data.get("resultType") == "scalar":
            return [Sample({}, float(data["result"][1]))]
        return [Sample(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]

    def targets(self) -> list[dict[str, Any]]:
        return list(self._api("targets", state="active")["activeTargets"])

    def rule_alerts(self) -> list[dict[str, Any]]:
        """Alerts as the rules see them now: pending (waiting out `for:`) and firing."""
        return list(self._api("alerts")["alerts"])


def is_number(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))


def read_alertmanager_alerts(base_url: str) -> list[dict[str, Any]]:
    """Alertmanager's v2 API: every alert it holds, active, silenced or inhibited."""
    url = base_url.rstrip("/") + "/api/v2/alerts"
    response = _get(url, params={"active": "true", "silenced": "true", "inhibited": "true"})
    if response.status_code != 200:
        raise SourceError(f"{url}: HTTP {response.status_code}")
    try:
        alerts = response.json()
    except ValueError as error:
        raise SourceError(f"{url}: not JSON") from error
    if not isinstance(alerts, list):
        raise SourceError(f"{url}: expected a list of alerts")
    return alerts


# --- MongoDB ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    name: str
    state: str
    healthy: bool
    lag_seconds: float | None
    is_self: bool


@dataclass(frozen=True)
class ReplicaSet:
    """replSetGetStatus reduced to what an operator checks; `standalone` when there is no set."""

    set_name: str | None
    members: list[Member] = field(default_factory=list)
    note: str | None = None

    @property
    def standalone(self) -> bool:
        return self.set_name is None

    @property
    def primary(self) -> str | None:
        return next((m.name for m in self.members if m.state == "PRIMARY"), None)


# Server codes meaning "this mongod is not part of a replica set" (NoReplicationEnabled) or "this
# server has no such command" (CommandNotFound): both are reported as standalone.
STANDALONE_CODES = {76, 59}


def _when(value: Any) -> datetime | None:
    """An optimeDate as pymongo (datetime) or relaxed Extended JSON ({"$date": ...}) gives it."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, dict) and "$date" in value:
        inner = value["$date"]
        if isinstance(inner, str):
            return datetime.fromisoformat(inner.replace("Z", "+00:00"))
        if isinstance(inner, dict) and "$numberLong" in inner:
            return datetime.fromtimestamp(int(inner["$numberLong"]) / 1000, UTC)
        if isinstance(inner, int | float):
            return datetime.fromtimestamp(inner / 1000, UTC)
    return None


def replica_set_from_status(status: Mapping[str, Any]) -> ReplicaSet:
    if not status.get("ok", 1):
        if status.get("code") in STANDALONE_CODES:
            return ReplicaSet(None, note=str(status.get("errmsg", "not a replica set")))
        raise SourceError(f"replSetGetStatus: {status.get('errmsg', 'failed')}")
    raw_members = list(status.get("members", []))
    primary_time = next(
        (_when(m.get("optimeDate")) for m in raw_members if m.get("stateStr") == "PRIMARY"), None
    )
    members = []
    for raw in raw_members:
        optime = _when(raw.get("optimeDate"))
        lag = (
            max(0.0, (primary_time - optime).total_seconds())
            if primary_time is not None and optime is not None
            else None
        )
        members.append(
            Member(
                name=str(raw.get("name", "?")),
                state=str(raw.get("stateStr", raw.get("state", "?"))),
                healthy=bool(raw.get("health", 0)),
                lag_seconds=lag,
                is_self=bool(raw.get("self", False)),
            )
        )
    return ReplicaSet(str(status.get("set", "?")), members)


def read_replica_set(mongo_url: str) -> ReplicaSet:
    """replSetGetStatus through pymongo (the local cluster, where the URL needs no secret)."""
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure, PyMongoError

    client: MongoClient[dict[str, Any]] = MongoClient(
        mongo_url, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000
    )
    try:
        try:
            return replica_set_from_status(client.admin.command("replSetGetStatus"))
        except OperationFailure as error:
            if error.code in STANDALONE_CODES:
                return ReplicaSet(None, note=str(error.details or error))
            raise SourceError(f"replSetGetStatus: {error}") from error
        except PyMongoError as error:
            raise SourceError(f"MongoDB: {type(error).__name__}: {error}") from error
    finally:
        client.close()


# --- Redis ------------------------------------------------------------------------------------


def parse_info(text: str) -> dict[str, str]:
    """`INFO` / `CLUSTER INFO` text ("key:value" lines, "# Section" headers) as a dict."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        values[key] = value
    return values


@dataclass(frozen=True)
class RedisNode:
    address: str
    info: dict[str, str] = field(default_factory=dict)
    cluster: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def role(self) -> str:
        return self.info.get("role", "?")

    @property
    def cluster_state(self) -> str:
        return self.cluster.get("cluster_state", "?")


def _stringify(values: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in values.items() if not isinstance(v, dict)}


def _cluster_info(answer: Any) -> dict[str, str]:
    # redis-py parses CLUSTER INFO into a dict; without its callback it is the raw text.
    if isinstance(answer, dict):
        return _stringify(answer)
    if isinstance(answer, bytes):
        answer = answer.decode()
    return parse_info(str(answer))


def read_redis_node(address: str, *, password: str | None = None, cluster: bool) -> RedisNode:
    """INFO (and CLUSTER INFO for a cluster node) straight from redis-py."""
    import redis

    host, _, port = address.rpartition(":")
    client = redis.Redis(
        host=host, port=int(port), password=password, socket_timeout=3, socket_connect_timeout=3
    )
    try:
        info = _stringify(client.info())
        cluster_info = (
            _cluster_info(cast(Any, client).execute_command("CLUSTER INFO")) if cluster else {}
        )
    except (redis.RedisError, OSError, ValueError) as error:
        return RedisNode(address, error=f"{type(error).__name__}: {error}")
    finally:
        client.close()
    return RedisNode(address, info=info, cluster=cluster_info)
