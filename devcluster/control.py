"""Scale and restart parts of a running local cluster: `python -m devcluster scale|restart`.

`up` detaches its processes and exits, so there is no launcher left to ask: like `status` and
`down`, these commands work from the state file (state.json) in another shell, under a lock so two
of them never edit it at once. What they change is what the cluster's users see:

* a bot instance is started on a port of its own, and only when it answers `/ready` is it added
  to HAProxy's `bots` backend over the runtime API (a dynamic server); it leaves the same way:
  drained (no new requests, the ones it holds answered), then stopped, then deleted;
* Prometheus scrapes exactly the instances and workers in the state (file_sd files it watches);
* `restart bot-N` drains that instance first, so no webhook delivery meets a closing instance.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from devcluster.bot import BotInstance
from devcluster.celery import CeleryWorker
from devcluster.haproxy_runtime import HAProxyRuntime
from devcluster.monitoring import bot_targets_file, worker_targets_file, write_scrape_targets
from devcluster.ports import LOOPBACK, free_port
from devcluster.process import stop_detached_group
from devcluster.state import ClusterState, ComponentRecord, EndpointRecord, ProcessRecord

BOTS = "bots"
WORKERS = "celery-worker"
MAX_BOT_INSTANCES = 10
MAX_CELERY_WORKERS = 6
# As topology starts them: one uvicorn worker per instance, two pool processes per Celery worker.
WORKER_CONCURRENCY = 2
# A drained instance answers what it holds within the webhook timeout at worst.
DRAIN_TIMEOUT_SECONDS = 60.0
# Back in rotation: `rise 2` checks at `inter 2s`, on a loaded machine.
ROTATION_TIMEOUT_SECONDS = 60.0
_LOCK_FILE = "control.lock"
_BOT_PROCESS = re.compile(r"bot-bot(\d+)(?:-run\d+)?")
_WORKER_PROCESS = re.compile(r"celery-worker(\d+)")


class ControlError(RuntimeError):
    """The request cannot be done on this cluster; the message says why."""


def bot_port_name(index: int) -> str:
    return f"bot-{index}"


def worker_metrics_port_name(index: int) -> str:
    # worker1's name predates scaling; keeps `--port worker-metrics=...` working.
    return "worker-metrics" if index == 1 else f"worker-metrics-{index}"


def worker_metrics_dir(run_dir: Path, index: int) -> Path:
    return run_dir / "celery" / ("metrics" if index == 1 else f"metrics-worker{index}")


def bot_endpoint(index: int, port: int) -> EndpointRecord:
    return EndpointRecord(f"Bot instance {index} (/ready, /metrics)", f"http://{LOOPBACK}:{port}")


def worker_endpoint(index: int, port: int) -> EndpointRecord:
    label = "Celery worker metrics" + ("" if index == 1 else f" (worker{index})")
    return EndpointRecord(label, f"http://{LOOPBACK}:{port}/")


def haproxy_socket(run_dir: Path) -> Path:
    # HAProxyServer puts its runtime socket in the directory it is given: run_dir/logs.
    return run_dir / "logs" / "haproxy.sock"


@contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    with (run_dir / _LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, separator, value = line.partition("=")
        if separator and not line.startswith("#"):
            values[name] = value
    return values


@dataclass
class _Cluster:
    """The state of a running cluster and what acting on it needs."""

    state: ClusterState
    env: dict[str, str]

    @property
    def run_dir(self) -> Path:
        return Path(self.state.run_dir)

    def component(self, name: str) -> ComponentRecord:
        for component in self.state.components:
            if component.name == name:
                return component
        raise ControlError(f"this cluster runs no {name} (started with `up --only`?)")

    def has(self, name: str) -> bool:
        return any(component.name == name for component in self.state.components)

    def haproxy(self) -> HAProxyRuntime | None:
        return HAProxyRuntime(haproxy_socket(self.run_dir)) if self.has("haproxy") else None

    def bot_indices(self) -> list[int]:
        return sorted(_indices(self.component(BOTS), _BOT_PROCESS))

    def worker_indices(self) -> list[int]:
        return sorted(_indices(self.component(WORKERS), _WORKER_PROCESS))

    def taken_ports(self) -> set[int]:
        return set(self.state.ports.values())

    def new_port(self) -> int:
        taken = self.taken_ports()
        while (port := free_port()) in taken:
            pass
        return port

    def bot(self, index: int, port: int) -> BotInstance:
        return BotInstance(
            self.run_dir / "bots",
            instance_id=f"bot{index}",
            env=self.env,
            port=port,
            die_with_parent=False,
        )

    def worker(self, index: int, port: int) -> CeleryWorker:
        return CeleryWorker(
            self.run_dir / "celery",
            name=f"worker{index}",
            env={
                **self.env,
                "WORKER_INSTANCE_ID": f"worker{index}",
                "WORKER_METRICS_BIND": f"{LOOPBACK}:{port}",
                "PROMETHEUS_MULTIPROC_DIR": str(worker_metrics_dir(self.run_dir, index)),
            },
            concurrency=WORKER_CONCURRENCY,
            die_with_parent=False,
        )

    def write_scrape_targets(self) -> None:
        ports = self.state.ports
        if self.has(BOTS):
            bots = [f"{LOOPBACK}:{ports[bot_port_name(i)]}" for i in self.bot_indices()]
            write_scrape_targets(bot_targets_file(self.run_dir), bots)
        if self.has(WORKERS):
            workers = [
                f"{LOOPBACK}:{ports[worker_metrics_port_name(i)]}" for i in self.worker_indices()
            ]
            write_scrape_targets(worker_targets_file(self.run_dir), workers)


def _indices(component: ComponentRecord, pattern: re.Pattern[str]) -> dict[int, ProcessRecord]:
    found = {}
    for process in component.processes:
        match = pattern.fullmatch(process.name)
        if match:
            found[int(match.group(1))] = process
    return found


def _load(run_dir: Path) -> _Cluster:
    state = ClusterState.load(run_dir)
    if state is None or not any(p.is_running() for p in state.all_processes()):
        raise ControlError(f"no local cluster runs from {run_dir}: `python -m devcluster up`")
    return _Cluster(state, _read_env_file(Path(state.files["bot_env"])))


def _stop(record: ProcessRecord) -> None:
    if not stop_detached_group(
        record.pid, start_ticks=record.start_ticks, grace_seconds=record.stop_grace_seconds
    ):
        raise ControlError(f"{record.name} (pid {record.pid}) would not stop")


def _replace_process(component: ComponentRecord, old: ProcessRecord, new: ProcessRecord) -> None:
    component.processes[component.processes.index(old)] = new


# --- bots --------------------------------------------------------------------------------------


def _add_bots(cluster: _Cluster, indices: list[int], out: TextIO) -> None:
    component = cluster.component(BOTS)
    haproxy = cluster.haproxy()
    instances = []
    for index in indices:
        instance = cluster.bot(index, cluster.new_port())
        cluster.state.ports[bot_port_name(index)] = instance.port
        instance.start(wait=False)
        instances.append((index, instance))
        component.processes.append(ProcessRecord.of(instance.process))
        component.endpoints.append(bot_endpoint(index, instance.port))
        # Recorded at once: `down` must find it even if what follows fails.
        cluster.state.save()
        print(
            f"started bot{index} on {instance.address} (pid {instance.pid})", file=out, flush=True
        )
    for index, instance in instances:
        instance.wait_ready()
        if haproxy is not None:
            if haproxy.server(f"bot{index}") is None:
                haproxy.add_server(f"bot{index}", instance.address)
            haproxy.wait_for(
                f"bot{index}",
                lambda server: server.in_rotation,
                what="in rotation",
                timeout=ROTATION_TIMEOUT_SECONDS,
            )
        print(f"bot{index} is ready and in HAProxy's rotation", file=out, flush=True)
    cluster.write_scrape_targets()


def _remove_bot(cluster: _Cluster, index: int, out: TextIO) -> None:
    component = cluster.component(BOTS)
    record = _indices(component, _BOT_PROCESS)[index]
    haproxy = cluster.haproxy()
    if haproxy is not None and haproxy.server(f"bot{index}") is not None:
        haproxy.drain(f"bot{index}", timeout=DRAIN_TIMEOUT_SECONDS)
        haproxy.set_state(f"bot{index}", "maint")
    port = cluster.state.ports.pop(bot_port_name(index))
    component.processes.remove(record)
    component.endpoints = [e for e in component.endpoints if e != bot_endpoint(index, port)]
    cluster.write_scrape_targets()
    _stop(record)
    cluster.state.save()
    if haproxy is not None and haproxy.server(f"bot{index}") is not None:
        haproxy.delete_server(f"bot{index}")
    print(f"bot{index} drained, stopped and out of HAProxy", file=out, flush=True)


def scale_bots(run_dir: Path, count: int, out: TextIO) -> int:
    if not 1 <= count <= MAX_BOT_INSTANCES:
        raise ControlError(f"scale bots: 1 to {MAX_BOT_INSTANCES} instances, not {count}")
    with _locked(run_dir):
        cluster = _load(run_dir)
        present = cluster.bot_indices()
        if cluster.haproxy() is None:
            raise ControlError("scale bots: this cluster runs no HAProxy to put instances behind")
        if count > len(present):
            free = [i for i in range(1, MAX_BOT_INSTANCES + 1) if i not in present]
            _add_bots(cluster, free[: count - len(present)], out)
        for index in sorted(present, reverse=True)[: max(0, len(present) - count)]:
            _remove_bot(cluster, index, out)
        print(f"bots: {len(cluster.bot_indices())} instances", file=out)
    return 0


def restart_bot(cluster: _Cluster, index: int, out: TextIO) -> None:
    component = cluster.component(BOTS)
    record = _indices(component, _BOT_PROCESS)[index]
    port = cluster.state.ports[bot_port_name(index)]
    haproxy = cluster.haproxy()
    name = f"bot{index}"
    if haproxy is not None:
        haproxy.drain(name, timeout=DRAIN_TIMEOUT_SECONDS)
        haproxy.set_state(name, "maint")
    _stop(record)
    instance = cluster.bot(index, port)
    instance.start(wait=False)
    _replace_process(component, record, ProcessRecord.of(instance.process))
    cluster.state.save()
    instance.wait_ready()
    if haproxy is not None:
        haproxy.set_state(name, "ready")
        haproxy.wait_for(
            name,
            lambda server: server.in_rotation,
            what="in rotation",
            timeout=ROTATION_TIMEOUT_SECONDS,
        )
    print(
        f"{name} restarted (pid {record.pid} -> {instance.pid}), back in rotation",
        file=out,
        flush=True,
    )


# --- Celery workers ----------------------------------------------------------------------------


def scale_workers(run_dir: Path, count: int, out: TextIO) -> int:
    if not 1 <= count <= MAX_CELERY_WORKERS:
        raise ControlError(f"scale celery-worker: 1 to {MAX_CELERY_WORKERS} workers, not {count}")
    with _locked(run_dir):
        cluster = _load(run_dir)
        component = cluster.component(WORKERS)
        present = cluster.worker_indices()
        free = [i for i in range(1, MAX_CELERY_WORKERS + 1) if i not in present]
        started = []
        for index in free[: max(0, count - len(present))]:
            port = cluster.new_port()
            cluster.state.ports[worker_metrics_port_name(index)] = port
            worker = cluster.worker(index, port).start(wait=False)
            started.append(worker)
            component.processes.append(ProcessRecord.of(worker.process))
            component.endpoints.append(worker_endpoint(index, port))
            cluster.state.save()
            print(f"started worker{index} (pid {worker.process.pid})", file=out, flush=True)
        for worker in started:
            worker.wait_ready()
            print(f"{worker.name} answers ping", file=out, flush=True)
        for index in sorted(present, reverse=True)[: max(0, len(present) - count)]:
            record = _indices(component, _WORKER_PROCESS)[index]
            port = cluster.state.ports.pop(worker_metrics_port_name(index))
            component.processes.remove(record)
            component.endpoints = [
                e for e in component.endpoints if e != worker_endpoint(index, port)
            ]
            _stop(record)  # SIGTERM: Celery's warm shutdown finishes the tasks it holds
            cluster.state.save()
            print(f"worker{index} stopped (warm shutdown)", file=out, flush=True)
        cluster.write_scrape_targets()
        print(f"celery-worker: {len(cluster.worker_indices())} workers", file=out)
    return 0


def restart_worker(cluster: _Cluster, index: int, out: TextIO) -> None:
    component = cluster.component(WORKERS)
    record = _indices(component, _WORKER_PROCESS)[index]
    _stop(record)
    worker = cluster.worker(index, cluster.state.ports[worker_metrics_port_name(index)])
    worker.start(wait=False)
    _replace_process(component, record, ProcessRecord.of(worker.process))
    cluster.state.save()
    worker.wait_ready()
    print(f"worker{index} restarted (pid {record.pid} -> {worker.process.pid})", file=out)


# --- the commands ------------------------------------------------------------------------------

SCALABLE = {"bots": BOTS, "bot": BOTS, "celery-worker": WORKERS, "worker": WORKERS}


def scale(run_dir: Path, service: str, count: int, out: TextIO) -> int:
    component = SCALABLE.get(service)
    if component is None:
        raise ControlError(f"scale: {service!r} cannot be scaled (bots, celery-worker)")
    if component == BOTS:
        return scale_bots(run_dir, count, out)
    return scale_workers(run_dir, count, out)


_ONE_BOT = re.compile(r"(?:bot-?){1,2}(\d+)")
_ONE_WORKER = re.compile(r"(?:celery-)?worker-?(\d+)")


def restart(run_dir: Path, service: str, out: TextIO) -> int:
    """One bot instance (bot-2), every one in turn (bots), one worker (worker1) or all."""
    with _locked(run_dir):
        cluster = _load(run_dir)
        if service in {"bots", "bot"}:
            for index in cluster.bot_indices():
                restart_bot(cluster, index, out)
            return 0
        if service in {"celery-worker", "worker"}:
            for index in cluster.worker_indices():
                restart_worker(cluster, index, out)
            return 0
        bot = _ONE_BOT.fullmatch(service)
        if bot and int(bot.group(1)) in cluster.bot_indices():
            restart_bot(cluster, int(bot.group(1)), out)
            return 0
        worker = _ONE_WORKER.fullmatch(service)
        if worker and int(worker.group(1)) in cluster.worker_indices():
            restart_worker(cluster, int(worker.group(1)), out)
            return 0
        known = [f"bot-{i}" for i in cluster.bot_indices()]
        known += [f"worker{i}" for i in cluster.worker_indices()]
        raise ControlError(
            f"restart: no {service!r} here; restartable: bots, {', '.join(known)}, celery-worker "
            "(the others: `python -m devcluster down && python -m devcluster up`)"
        )
