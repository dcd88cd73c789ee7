"""Where the monitor looks and how it acts: the local cluster (`python -m devcluster up`) or the
compose deployment (docker-compose.enterprise.yml).

Both answer the same questions (processes, HAProxy's stats, each bot instance's health, the
replica set, the Redis nodes, the broker, where Prometheus and Alertmanager are) and turn the
operator's actions (restart, scale, backup) into the commands that do them, so `--dry-run` can
print exactly what a real run executes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from ops.sources import (
    InstanceHealth,
    RedisNode,
    ReplicaSet,
    SourceError,
    backend_of,
    parse_haproxy_csv,
    parse_health,
    parse_info,
    read_haproxy_csv,
    read_instance_health,
    read_redis_node,
    read_replica_set,
    replica_set_from_status,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RUN_DIR = REPO_ROOT / "var" / "devcluster"
COMPOSE_FILE = REPO_ROOT / "docker-compose.enterprise.yml"
DEFAULT_ENV_FILE = REPO_ROOT / ".env.prod"
DEFAULT_PROJECT = "fok"
ADMIN_TOOLS = REPO_ROOT / "scripts" / "admin_tools.py"
BOT_BACKEND = "bots"

# The services of docker-compose.enterprise.yml (tests/ops checks these against the file).
COMPOSE_WORKERS = ("worker-notifications", "worker-reminders", "worker-reports", "worker-backups")
COMPOSE_SERVICES: dict[str, tuple[str, ...]] = {
    "edge": ("haproxy",),
    "app": ("bot", *COMPOSE_WORKERS, "beat"),
    "data": (
        *(f"mongo-{n}" for n in range(1, 4)),
        *(f"redis-{n}" for n in range(1, 7)),
        "redis-broker",
    ),
    "monitoring": (
        "prometheus",
        "alertmanager",
        "grafana",
        "loki",
        "alloy",
        "node-exporter",
        "redis-exporter",
        "mongodb-exporter",
        "celery-exporter",
        "cadvisor",
    ),
    # One-shot: done when they exited 0.
    "jobs": ("mongo-init", "redis-cluster-init", "migrate"),
    # Profile "tools": a container only while an operator command runs.
    "tools": ("cli",),
}
LONG_RUNNING = tuple(
    s for tier in ("edge", "app", "data", "monitoring") for s in COMPOSE_SERVICES[tier]
)
ALL_SERVICES = tuple(s for services in COMPOSE_SERVICES.values() for s in services)
# haproxy/haproxy.compose.cfg: `server-template bot 1-10 bot:8000`.
MAX_BOT_REPLICAS = 10
# What compose scale refuses, and why.
NOT_SCALABLE = {
    "beat": "the beat stays at two (RedBeat's lock lets one schedule, the other stands by)",
    "haproxy": "one HAProxy publishes 80/443",
    **{
        s: "data services have fixed addresses and volumes; they are not scaled"
        for s in COMPOSE_SERVICES["data"]
    },
}
SCALE_WAIT_SECONDS = 120.0
# devcluster/control.py: MAX_BOT_INSTANCES, MAX_CELERY_WORKERS (ops does not import devcluster).
LOCAL_MAX_BOTS = 10
LOCAL_MAX_WORKERS = 6


class ActionRefused(Exception):
    """The action cannot be done here; the message says why and what to do instead."""


class UsageError(Exception):
    """A bad argument (unknown service, bad count)."""


@dataclass(frozen=True)
class ProcessState:
    group: str
    name: str
    state: str
    ok: bool
    detail: str = ""


@dataclass
class Plan:
    """Commands an action runs, in order; `verify` is checked after them (not in a dry run)."""

    commands: list[list[str]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    verify: Callable[[], tuple[bool, str]] | None = None


def shell_line(argv: Sequence[str]) -> str:
    return shlex.join(argv)


Runner = Callable[
    [Sequence[str], Mapping[str, str] | None, float], "subprocess.CompletedProcess[str]"
]


def run_command(
    argv: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv),
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as error:
        raise SourceError(f"{argv[0]} is not installed") from error
    except subprocess.TimeoutExpired as error:
        raise SourceError(
            f"{shell_line(argv[:6])} ... did not finish in {timeout:.0f} s"
        ) from error


class Deployment(Protocol):
    mode: str

    def describe(self) -> str: ...

    def processes(self) -> list[ProcessState]: ...

    def haproxy_csv(self) -> str: ...

    def instances(self) -> list[InstanceHealth]: ...

    @property
    def prometheus_url(self) -> str: ...

    @property
    def alertmanager_url(self) -> str: ...

    def replica_set(self) -> ReplicaSet: ...

    def redis_cluster(self) -> list[RedisNode]: ...

    def broker(self) -> RedisNode: ...

    def instance_names(self) -> dict[str, str]: ...

    def urls(self) -> dict[str, str]: ...

    def log_command(self, service: str | None, lines: int) -> list[str] | None: ...

    def log_files(self, service: str | None) -> list[tuple[str, Path]]: ...

    def restart_plan(self, service: str) -> Plan: ...

    def scale_plan(self, service: str, count: int) -> Plan: ...

    def backup_plan(self) -> Plan: ...

    def preflight(self) -> None:
        """Before an action runs for real: raise ActionRefused if it cannot."""


def _wait_for_rotation(read_csv: Callable[[], str], count: int) -> tuple[bool, str]:
    """Poll HAProxy's stats until `count` bot servers are in rotation (bounded)."""
    deadline = time.monotonic() + SCALE_WAIT_SECONDS
    seen = "no answer from the stats page"
    while True:
        try:
            backend = backend_of(parse_haproxy_csv(read_csv()), BOT_BACKEND)
            up = sum(1 for server in backend.servers if server.in_rotation)
            seen = f"{up} of {len(backend.servers)} bot servers in rotation"
            if up == count and len(backend.servers) == count:
                return True, f"HAProxy: {seen}"
        except SourceError as error:
            seen = str(error)
        if time.monotonic() >= deadline:
            return False, f"HAProxy after {SCALE_WAIT_SECONDS:.0f} s: {seen}"
        time.sleep(2)


def _rss(pid: int) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                kib = int(line.split()[1])
                return f"{kib / 1024:.0f} MiB"
    except (OSError, ValueError, IndexError):
        pass
    return ""


# --- the local cluster -------------------------------------------------------------------------


def devcluster_status(run_dir: Path, runner: Runner = run_command) -> dict[str, Any] | None:
    """`python -m devcluster status --json` for RUN_DIR; None when no cluster was started there."""
    result = runner(
        [sys.executable, "-m", "devcluster", "--run-dir", str(run_dir), "status", "--json"],
        {
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            )
        },
        30.0,
    )
    try:
        status = json.loads(result.stdout)
    except ValueError as error:
        raise SourceError(
            f"devcluster status --json answered no JSON (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-300:]}"
        ) from error
    if not isinstance(status, dict) or status.get("state") is None:
        return None
    return status


def _read_env_file(path: Path) -> dict[str, str]:
    """NAME=VALUE lines (never sourced as shell), as deploy-enterprise.sh reads them."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return values
    for line in text.splitlines():
        if not line or line.lstrip().startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name.strip()] = value
    return values


class LocalCluster:
    """The processes of `python -m devcluster up`, on 127.0.0.1, addresses from its state."""

    mode = "local"

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        self.run_dir = Path(status["run_dir"])
        self.ports: dict[str, int] = dict(status["ports"])
        self.files: dict[str, str] = dict(status["files"])
        self.bot_env = _read_env_file(Path(self.files["bot_env"]))

    def describe(self) -> str:
        return f"local cluster in {self.run_dir} (started {self.status.get('started_at')})"

    def _url(self, port_name: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_name]}"

    def _all_processes(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (component["name"], process)
            for component in self.status["components"]
            for process in component["processes"]
        ]

    def processes(self) -> list[ProcessState]:
        rows = []
        for component, process in self._all_processes():
            running = bool(process["running"])
            detail = f"pid {process['pid']}"
            if running and (rss := _rss(int(process["pid"]))):
                detail += f", {rss}"
            rows.append(
                ProcessState(
                    component, process["name"], "running" if running else "STOPPED", running, detail
                )
            )
        return rows

    def _bot_ports(self) -> list[tuple[str, int]]:
        """(instance name, port) of every bot instance: port names bot-1, bot-2, ..."""
        found = []
        for name, port in self.ports.items():
            match = re.fullmatch(r"bot-(\d+)", name)
            if match:
                found.append((int(match.group(1)), f"bot{match.group(1)}", port))
        return [(name, port) for _, name, port in sorted(found)]

    def _credentials(self) -> dict[str, str]:
        try:
            credentials = json.loads(Path(self.files["credentials"]).read_text())
        except (OSError, ValueError) as error:
            raise SourceError(f"{self.files['credentials']}: {error}") from error
        return {k: str(v) for k, v in credentials.items()}

    def haproxy_csv(self) -> str:
        credentials = self._credentials()
        return read_haproxy_csv(
            self._url("haproxy-stats"), credentials["stats_user"], credentials["stats_password"]
        )

    def instances(self) -> list[InstanceHealth]:
        return [
            read_instance_health(name, f"http://127.0.0.1:{port}")
            for name, port in self._bot_ports()
        ]

    @property
    def prometheus_url(self) -> str:
        return self._url("prometheus")

    @property
    def alertmanager_url(self) -> str:
        return self._url("alertmanager")

    def _env(self, name: str) -> str:
        value = self.bot_env.get(name)
        if not value:
            raise SourceError(f"{name} is not in {self.files['bot_env']}")
        return value

    def replica_set(self) -> ReplicaSet:
        return read_replica_set(self._env("MONGO_URL"))

    def redis_cluster(self) -> list[RedisNode]:
        nodes = [n.strip() for n in self._env("REDIS_CLUSTER_NODES").split(",") if n.strip()]
        password = self.bot_env.get("REDIS_PASSWORD") or None
        return [read_redis_node(node, password=password, cluster=True) for node in nodes]

    def broker(self) -> RedisNode:
        url = urlsplit(self._env("CELERY_BROKER_URL"))
        return read_redis_node(
            f"{url.hostname}:{url.port or 6379}", password=url.password, cluster=False
        )

    def instance_names(self) -> dict[str, str]:
        return {f"127.0.0.1:{port}": name for name, port in self._bot_ports()}

    def urls(self) -> dict[str, str]:
        return {
            "HAProxy stats (user and password in credentials.json)": self._url("haproxy-stats")
            + "/",
            "Prometheus": self.prometheus_url + "/",
            "Alertmanager": self.alertmanager_url + "/",
            "Telegram emulator chat page": self._url("telegram-emulator") + "/",
            **{
                f"bot instance {name}": f"http://127.0.0.1:{port}"
                for name, port in self._bot_ports()
            },
            "credentials": self.files["credentials"],
            "alerts received": str(self.run_dir / "alerts.jsonl"),
        }

    def log_command(self, service: str | None, lines: int) -> list[str] | None:
        return None

    def log_files(self, service: str | None) -> list[tuple[str, Path]]:
        processes = self._all_processes()
        if service is None:
            return [(p["name"], Path(p["log"])) for _, p in processes]
        for candidate in (service, f"bot-{service}", f"celery-{service}"):
            matches = [p for _, p in processes if p["name"] == candidate]
            if matches:
                return [(p["name"], Path(p["log"])) for p in matches]
        aliases = {"bot": "bots", "worker": "celery-worker", "beat": "celery-beat"}
        component = aliases.get(service, service)
        matches = [p for c, p in processes if c == component]
        if not matches:
            known = sorted({c for c, _ in processes} | {p["name"] for _, p in processes})
            raise UsageError(f"no process or component {service!r}; known: {', '.join(known)}")
        return [(p["name"], Path(p["log"])) for p in matches]

    def _running(self, component: str) -> int:
        return sum(1 for c, p in self._all_processes() if c == component and p["running"])

    def _devcluster(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "devcluster", "--run-dir", str(self.run_dir), *args]

    def _devcluster_env(self) -> dict[str, str]:
        return {
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            )
        }

    def restart_plan(self, service: str) -> Plan:
        # devcluster drains a bot instance in HAProxy before it stops it, and says what it can
        # restart when the name is none of those.
        return Plan(commands=[self._devcluster("restart", service)], env=self._devcluster_env())

    def scale_plan(self, service: str, count: int) -> Plan:
        components = {"bot": "bots", "bots": "bots", "celery-worker": "celery-worker"}
        component = components.get(service)
        if component is None:
            raise UsageError(f"scale: {service!r} is not scalable here (bot, celery-worker)")
        if component == "bots" and not 1 <= count <= LOCAL_MAX_BOTS:
            raise UsageError(f"scale bot: 1 to {LOCAL_MAX_BOTS} instances")
        if component == "celery-worker" and not 1 <= count <= LOCAL_MAX_WORKERS:
            raise UsageError(f"scale celery-worker: 1 to {LOCAL_MAX_WORKERS} workers")
        running = self._running(component)
        if count == running:
            return Plan(notes=[f"{component}: {running} already running, nothing to do"])
        return Plan(
            commands=[self._devcluster("scale", component, str(count))],
            env=self._devcluster_env(),
            notes=(
                ["HAProxyBotBackendDegraded counts 3 bots as normal: fewer than 3 raise it"]
                if component == "bots" and count < 3
                else []
            ),
            verify=(
                (lambda: _wait_for_rotation(self.haproxy_csv, count))
                if component == "bots"
                else None
            ),
        )

    def preflight(self) -> None:
        return None

    def backup_plan(self) -> Plan:
        command = [sys.executable, str(ADMIN_TOOLS), "backup"]
        if not self.bot_env.get("BACKUP_DIRECTORY"):
            # The settings' default (/var/backups/fok) belongs to a deployment, not to this run.
            command += ["--dir", str(self.run_dir / "backups")]
        return Plan(commands=[command], env=dict(self.bot_env))


def find_local(run_dir: Path, runner: Runner = run_command) -> LocalCluster | None:
    """The local cluster of RUN_DIR if one was started there and any of its processes runs."""
    if not (run_dir / "state.json").exists():
        return None
    status = devcluster_status(run_dir, runner)
    if status is None:
        return None
    if not any(p["running"] for c in status["components"] for p in c["processes"]):
        return None
    return LocalCluster(status)


# --- the compose deployment --------------------------------------------------------------------

# Read inside a bot container (python is there, curl and wget are not).
_HEALTH_PROBE = (
    "import sys, urllib.error, urllib.request\n"
    "try:\n"
    "    body = urllib.request.urlopen('http://127.0.0.1:8000/health/detailed', timeout=5).read()\n"
    "except urllib.error.HTTPError as error:\n"
    "    body = error.read()\n"
    "sys.stdout.write(body.decode())\n"
)
# replSetGetStatus as the exporter user (clusterMonitor); the password comes from the
# environment of `docker compose exec -e NAME`, never from a command line.
MONGO_PASSWORD_VARIABLE = "FOK_MONITOR_MONGO_PASSWORD"  # noqa: S105 (a variable name)
_MONGO_STATUS = (
    'const admin = db.getSiblingDB("admin");'
    f'admin.auth("fok_exporter", process.env.{MONGO_PASSWORD_VARIABLE});'
    "let status;"
    "try { status = admin.runCommand({ replSetGetStatus: 1 }); }"
    "catch (error) { status = { ok: 0, errmsg: String(error) }; }"
    "print(EJSON.stringify(status, { relaxed: true }));"
)
_REDIS_SPLIT = "@@fok-cluster-info@@"
# Inside a Redis container: REDIS_PASSWORD is that container's own (the broker's is the broker's).
_REDIS_INFO = 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 info'
_REDIS_CLUSTER_INFO = (
    f"{_REDIS_INFO} && echo {_REDIS_SPLIT} && "
    'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 cluster info'
)


def parse_compose_ps(text: str) -> list[dict[str, Any]]:
    """`docker compose ps --format json`: a JSON array (Compose < 2.21) or one object a line."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        containers = json.loads(text)
    else:
        containers = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [c for c in containers if isinstance(c, dict)]


def _replica_index(container_name: str) -> int | None:
    match = re.search(r"-(\d+)$", container_name)
    return int(match.group(1)) if match else None


class ComposeDeployment:
    """docker-compose.enterprise.yml on this host, through `docker compose` and the management
    ports it publishes on MGMT_BIND_ADDR (stats 8404, Prometheus 9090, Alertmanager 9093)."""

    mode = "compose"

    def __init__(
        self,
        *,
        env_file: Path = DEFAULT_ENV_FILE,
        compose_file: Path = COMPOSE_FILE,
        project: str = DEFAULT_PROJECT,
        runner: Runner = run_command,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.env_file = env_file.resolve()
        self.compose_file = compose_file.resolve()
        self.project = project
        self._runner = runner
        self._environ = dict(os.environ if environ is None else environ)
        self.values = _read_env_file(self.env_file)
        self._containers: list[dict[str, Any]] | None = None
        mgmt = self.values.get("MGMT_BIND_ADDR") or "127.0.0.1"
        # Bound on every interface: reach it on loopback.
        self._mgmt = "127.0.0.1" if mgmt in {"0.0.0.0", "::", "[::]"} else mgmt  # noqa: S104

    def describe(self) -> str:
        return f"compose project {self.project} ({self.compose_file.name}, {self.env_file})"

    @property
    def compose(self) -> list[str]:
        return [
            "docker",
            "compose",
            "-p",
            self.project,
            "--env-file",
            str(self.env_file),
            "-f",
            str(self.compose_file),
        ]

    def _run(
        self, argv: list[str], env: Mapping[str, str] | None = None, timeout: float = 60.0
    ) -> str:
        result = self._runner(argv, env, timeout)
        if result.returncode != 0:
            compose = self.compose
            shown = (
                "docker compose " + shell_line(argv[len(compose) :][:4])
                if argv[: len(compose)] == compose
                else shell_line(argv[:4])
            )
            output = result.stderr or result.stdout
            if argv[:2] == ["docker", "compose"] and any(
                sign in output
                for sign in ("unknown shorthand flag", "unknown command", "is not a docker command")
            ):
                raise SourceError(
                    "Docker Compose v2 is not installed (`docker compose` is unknown)"
                )
            message = [line for line in output.splitlines() if line]
            raise SourceError(
                f"`{shown} ...` failed ({result.returncode}): "
                + (message[0].strip() if message else "no output")
            )
        return result.stdout

    def _mgmt_url(self, override: str, port: int) -> str:
        return (self._environ.get(override) or f"http://{self._mgmt}:{port}").rstrip("/")

    @property
    def stats_url(self) -> str:
        return self._mgmt_url("FOK_HAPROXY_STATS_URL", 8404)

    @property
    def prometheus_url(self) -> str:
        return self._mgmt_url("FOK_PROMETHEUS_URL", 9090)

    @property
    def alertmanager_url(self) -> str:
        return self._mgmt_url("FOK_ALERTMANAGER_URL", 9093)

    def containers(self) -> list[dict[str, Any]]:
        """Every container of the project (read once per run: several sections ask)."""
        if self._containers is None:
            self._containers = parse_compose_ps(
                self._run([*self.compose, "ps", "--all", "--format", "json"])
            )
        return self._containers

    def processes(self) -> list[ProcessState]:
        rows = []
        seen = set()
        for container in sorted(self.containers(), key=lambda c: str(c.get("Name", ""))):
            service = str(container.get("Service", "?"))
            seen.add(service)
            state = str(container.get("State", "?"))
            health = str(container.get("Health", "") or "")
            exit_code = container.get("ExitCode", 0)
            if service in COMPOSE_SERVICES["jobs"] or service in COMPOSE_SERVICES["tools"]:
                ok = state == "running" or (state == "exited" and exit_code == 0)
            else:
                ok = state == "running" and health in {"", "healthy"}
            shown = f"{state} ({health})" if health else state
            if state == "exited":
                shown += f", exit {exit_code}"
            rows.append(
                ProcessState(
                    service,
                    str(container.get("Name", "?")),
                    shown,
                    ok,
                    str(container.get("Status", "")),
                )
            )
        for service in LONG_RUNNING:
            if service not in seen:
                rows.append(ProcessState(service, "-", "no container", False))
        return rows

    def haproxy_csv(self) -> str:
        password = self.values.get("STATS_PASSWORD")
        if not password:
            raise SourceError(f"STATS_PASSWORD is not set in {self.env_file}")
        return read_haproxy_csv(self.stats_url, self.values.get("STATS_USER") or "admin", password)

    def _exec(
        self,
        service: str,
        *command: str,
        index: int | None = None,
        env: Mapping[str, str] | None = None,
        pass_env: Sequence[str] = (),
    ) -> str:
        argv = [*self.compose, "exec", "-T"]
        for name in pass_env:
            argv += ["-e", name]
        if index is not None:
            argv += ["--index", str(index)]
        return self._run([*argv, service, *command], env=env, timeout=30.0)

    def instances(self) -> list[InstanceHealth]:
        bots = [
            c
            for c in self.containers()
            if c.get("Service") == "bot" and c.get("State") == "running"
        ]
        found = []
        for container in sorted(bots, key=lambda c: _replica_index(str(c.get("Name", ""))) or 0):
            name = str(container.get("Name", "bot"))
            index = _replica_index(name)
            try:
                body = self._exec("bot", "python", "-c", _HEALTH_PROBE, index=index)
            except SourceError as error:
                found.append(InstanceHealth(name, f"{name}:8000", error=str(error)))
                continue
            found.append(parse_health(name, f"{name}:8000", body))
        return found

    def replica_set(self) -> ReplicaSet:
        password = self.values.get("MONGO_EXPORTER_PASSWORD")
        if not password:
            raise SourceError(f"MONGO_EXPORTER_PASSWORD is not set in {self.env_file}")
        errors = []
        for member in COMPOSE_SERVICES["data"][:3]:
            try:
                out = self._exec(
                    member,
                    "mongosh",
                    "--quiet",
                    "--norc",
                    "mongodb://127.0.0.1:27017/admin?directConnection=true",
                    "--eval",
                    _MONGO_STATUS,
                    env={MONGO_PASSWORD_VARIABLE: password},
                    pass_env=[MONGO_PASSWORD_VARIABLE],
                )
            except SourceError as error:
                errors.append(f"{member}: {error}")
                continue
            documents = [line for line in out.splitlines() if line.startswith("{")]
            if not documents:
                errors.append(f"{member}: mongosh printed no status")
                continue
            return replica_set_from_status(json.loads(documents[-1]))
        raise SourceError("; ".join(errors))

    def _redis(self, service: str, *, cluster: bool) -> RedisNode:
        try:
            out = self._exec(service, "sh", "-c", _REDIS_CLUSTER_INFO if cluster else _REDIS_INFO)
        except SourceError as error:
            return RedisNode(service, error=str(error))
        info_text, _, cluster_text = out.partition(_REDIS_SPLIT)
        return RedisNode(service, info=parse_info(info_text), cluster=parse_info(cluster_text))

    def redis_cluster(self) -> list[RedisNode]:
        return [self._redis(f"redis-{n}", cluster=True) for n in range(1, 7)]

    def broker(self) -> RedisNode:
        return self._redis("redis-broker", cluster=False)

    def instance_names(self) -> dict[str, str]:
        return {}

    def urls(self) -> dict[str, str]:
        return {
            "HAProxy stats (STATS_USER / STATS_PASSWORD)": self.stats_url + "/",
            "Prometheus": self.prometheus_url + "/",
            "Alertmanager": self.alertmanager_url + "/",
            "Grafana": self._mgmt_url("FOK_GRAFANA_URL", 3000) + "/",
            "webhook": self.values.get("TELEGRAM_WEBHOOK_URL") or "(TELEGRAM_WEBHOOK_URL unset)",
        }

    def _service(self, service: str) -> str:
        if service not in ALL_SERVICES:
            raise UsageError(
                f"no service {service!r} in {self.compose_file.name}; known: {', '.join(ALL_SERVICES)}"
            )
        return service

    def log_command(self, service: str | None, lines: int) -> list[str] | None:
        replica = re.fullmatch(r"bot-?(\d+)", service or "")
        if replica:
            return [
                "docker",
                "logs",
                "--tail",
                str(lines),
                f"{self.project}-bot-{replica.group(1)}",
            ]
        command = [*self.compose, "logs", "--no-color", "--tail", str(lines)]
        return command if service is None else [*command, self._service(service)]

    def log_files(self, service: str | None) -> list[tuple[str, Path]]:
        return []

    def restart_plan(self, service: str) -> Plan:
        replica = re.fullmatch(r"bot-?(\d+)", service)
        if replica:
            return Plan(commands=[["docker", "restart", f"{self.project}-bot-{replica.group(1)}"]])
        if service in COMPOSE_SERVICES["jobs"] or service in COMPOSE_SERVICES["tools"]:
            raise UsageError(f"{service} is a one-shot job, not a service to restart")
        return Plan(commands=[[*self.compose, "restart", self._service(service)]])

    def scale_plan(self, service: str, count: int) -> Plan:
        if service in NOT_SCALABLE:
            raise ActionRefused(f"scale: {service}: {NOT_SCALABLE[service]}")
        if service == "bot":
            if not 1 <= count <= MAX_BOT_REPLICAS:
                raise UsageError(
                    f"scale bot: 1 to {MAX_BOT_REPLICAS} replicas (haproxy.compose.cfg has "
                    f"{MAX_BOT_REPLICAS} server slots)"
                )
            return Plan(
                commands=[
                    [*self.compose, "up", "-d", "--no-deps", "--scale", f"bot={count}", "bot"]
                ],
                notes=[
                    f"set BOT_REPLICAS={count} in {self.env_file.name} so the next deploy keeps it",
                    "HAProxyBotBackendDegraded counts 3 bots as normal: raise it if that changes",
                ],
                verify=lambda: _wait_for_rotation(self.haproxy_csv, count),
            )
        workers = COMPOSE_WORKERS if service in {"celery-worker", "worker"} else (service,)
        if not set(workers) <= set(COMPOSE_WORKERS):
            raise UsageError(
                f"scale: {service!r} is not scalable (bot, celery-worker, {', '.join(COMPOSE_WORKERS)})"
            )
        if not 1 <= count <= 20:
            raise UsageError("scale: 1 to 20 workers per queue")
        scales = [arg for worker in workers for arg in ("--scale", f"{worker}={count}")]
        return Plan(commands=[[*self.compose, "up", "-d", "--no-deps", *scales, *workers]])

    def preflight(self) -> None:
        if not self.env_file.is_file():
            raise ActionRefused(f"{self.env_file} does not exist (copy .env.prod.example)")

    def backup_plan(self) -> Plan:
        # The cli service's role is its first argument (docker/entrypoint.sh): `cli backup`.
        return Plan(commands=[[*self.compose, "run", "--rm", "--no-deps", "cli", "cli", "backup"]])
