"""`python -m devcluster up|status|down|scale|restart`: the local cluster from one command."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from devcluster.control import SCALABLE, ControlError
from devcluster.control import restart as restart_service
from devcluster.control import scale as scale_service
from devcluster.credentials import CREDENTIALS_FILE, Credentials, write_private_file
from devcluster.haproxy_runtime import RuntimeApiError
from devcluster.paths import DEFAULT_RUN_DIR
from devcluster.process import ProcessStartError, stop_detached_group
from devcluster.state import ClusterState, ComponentRecord, EndpointRecord, ProcessRecord
from devcluster.tls import ensure_local_tls
from devcluster.topology import (
    COMPONENTS,
    Built,
    ComponentSpec,
    LocalCluster,
    PortPlanError,
    plan_ports,
    port_environment_variable,
    port_names,
    port_overrides_from_environment,
)

BOT_ENV_FILE = "bot.env"
EXIT_NOT_RUNNING = 3  # as in LSB `status`: "program is not running"
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _parse_port_override(value: str) -> tuple[str, int]:
    name, _, port = value.partition("=")
    if not name or not port.isdigit():
        raise argparse.ArgumentTypeError("expected NAME=PORT, e.g. haproxy-stats=8404")
    return name, int(port)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devcluster", description=__doc__)
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(os.environ.get("DEVCLUSTER_RUN_DIR", DEFAULT_RUN_DIR)),
        help="configs, data, logs, secrets and the state file (default: var/devcluster)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start every component and print where to click")
    up.add_argument(
        "--port",
        action="append",
        type=_parse_port_override,
        default=[],
        metavar="NAME=PORT",
        help="fix one port (repeatable); also DEVCLUSTER_PORT_<NAME>; names: see `ports`",
    )
    up.add_argument(
        "--base-port",
        type=int,
        default=None,
        help="number the ports from here in a stable order instead of picking free ones",
    )
    up.add_argument(
        "--only",
        default=None,
        help="comma-separated subset of components, in topology order "
        f"({', '.join(spec.name for spec in COMPONENTS)})",
    )
    up.add_argument("--fresh", action="store_true", help="wipe stored data and secrets first")
    up.add_argument(
        "--foreground",
        action="store_true",
        help="stay attached; Ctrl-C or SIGTERM stops the cluster",
    )
    status_parser = commands.add_parser("status", help="show components, processes and addresses")
    status_parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON object: ports, files, each process (pid, running, log) and endpoint",
    )
    commands.add_parser("down", help="stop everything `up` started")
    scale_parser = commands.add_parser(
        "scale", help="run N bot instances (behind HAProxy) or N Celery workers"
    )
    scale_parser.add_argument("service", choices=sorted(SCALABLE), help="what to scale")
    scale_parser.add_argument("count", type=int, help="how many to run")
    restart_parser = commands.add_parser(
        "restart", help="restart a bot instance (drained in HAProxy first) or a Celery worker"
    )
    restart_parser.add_argument(
        "service", help="bot-N, bots (each in turn), workerN or celery-worker (each in turn)"
    )
    commands.add_parser("ports", help="list the port names `--port` and the variables accept")
    return parser


def _selected_components(only: str | None) -> list[ComponentSpec]:
    if only is None:
        return list(COMPONENTS)
    wanted = {name.strip() for name in only.split(",") if name.strip()}
    known = {spec.name for spec in COMPONENTS}
    if wanted - known:
        raise PortPlanError(
            f"unknown component(s) {sorted(wanted - known)}; known: {sorted(known)}"
        )
    return [spec for spec in COMPONENTS if spec.name in wanted]


def _print_endpoints(state: ClusterState, out: TextIO) -> None:
    for component in state.components:
        for endpoint in component.endpoints:
            print(f"  {endpoint.label:<60} {endpoint.url}", file=out)


def up(args: argparse.Namespace, out: TextIO) -> int:
    run_dir: Path = args.run_dir.resolve()
    existing = ClusterState.load(run_dir)
    if existing is not None:
        if any(process.is_running() for process in existing.all_processes()):
            print(f"already running from {run_dir}; `python -m devcluster down` first", file=out)
            return 1
        ClusterState.remove(run_dir)

    specs = _selected_components(args.only)
    overrides = {
        **port_overrides_from_environment(COMPONENTS, os.environ),
        **dict(args.port),
    }
    # Ports of components left out are planned too: others refer to them (HAProxy's backends).
    ports = plan_ports(COMPONENTS, overrides, args.base_port)

    data_dir = run_dir / "data"
    if args.fresh:
        for stale in (data_dir, run_dir / "tls", run_dir / CREDENTIALS_FILE):
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    cluster = LocalCluster(
        run_dir=run_dir,
        data_dir=data_dir,
        ports=ports,
        credentials=Credentials.load_or_generate(run_dir),
        tls=ensure_local_tls(run_dir / "tls"),
    )
    state = ClusterState(
        run_dir=str(run_dir),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ports=ports,
        files={
            "credentials": str(run_dir / CREDENTIALS_FILE),
            "bot_env": str(run_dir / BOT_ENV_FILE),
            "tls_ca": str(cluster.tls.ca_pem),
        },
    )
    started: list[Built] = []
    try:
        for spec in specs:
            print(f"starting {spec.name} ...", file=out, flush=True)
            built = spec.build(cluster)
            cluster.built[spec.name] = built
            built.component.start()
            started.append(built)
            state.components.append(
                ComponentRecord(
                    name=spec.name,
                    processes=[ProcessRecord.of(p) for p in built.component.processes()],
                    endpoints=[EndpointRecord(e.label, e.url) for e in built.endpoints],
                )
            )
            # Saved after every component, so `down` can clean up even if a later one fails.
            state.save()
    except Exception as error:
        print(f"\n{spec.name} failed to start:\n{error}\n\nstopping what was started", file=out)
        for built in reversed(started):
            built.component.stop()
        ClusterState.remove(run_dir)
        return 1

    bot_env = "".join(f"{key}={value}\n" for key, value in cluster.exported_environment().items())
    write_private_file(run_dir / BOT_ENV_FILE, bot_env)

    if args.foreground:
        # Blocked before anything is printed: whoever reacts to the output with Ctrl-C must
        # reach the orderly `down` below, not the default KeyboardInterrupt.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    print(f"\nlocal cluster up ({run_dir}):", file=out)
    _print_endpoints(state, out)
    print(
        f"\n  secrets (stats password, bot token, webhook secret): {state.files['credentials']}"
        f"\n  environment for bot processes (bot/settings.py names): {state.files['bot_env']}"
        f"\n  logs: {run_dir / 'logs'} and per-component directories"
        "\n  status: python -m devcluster status   stop: python -m devcluster down",
        file=out,
        flush=True,
    )
    if args.foreground:
        _wait_for_stop_signal()
        return down(args, out)
    return 0


def _wait_for_stop_signal() -> None:
    signal.sigwait(_STOP_SIGNALS)


def status(args: argparse.Namespace, out: TextIO) -> int:
    run_dir: Path = args.run_dir.resolve()
    state = ClusterState.load(run_dir)
    if args.json:
        return _status_json(run_dir, state, out)
    if state is None:
        print(f"not running (no state in {run_dir})", file=out)
        return EXIT_NOT_RUNNING
    all_running = True
    print(f"local cluster in {run_dir}, started {state.started_at}", file=out)
    for component in state.components:
        for process in component.processes:
            running = process.is_running()
            all_running &= running
            condition = "running" if running else "STOPPED"
            print(
                f"  {component.name:<18} {process.name:<22} pid {process.pid:<8} {condition}",
                file=out,
            )
    _print_endpoints(state, out)
    return 0 if all_running else 1


def _status_json(run_dir: Path, state: ClusterState | None, out: TextIO) -> int:
    """`status --json`, for tools (scripts/monitor-enterprise.sh): the same facts and exit codes.

    Names files and ports only; the secrets stay in the files it names.
    """
    if state is None:
        json.dump({"run_dir": str(run_dir), "state": None, "all_running": False}, out)
        print(file=out)
        return EXIT_NOT_RUNNING
    components: list[dict[str, Any]] = [
        {
            "name": component.name,
            "processes": [
                {
                    "name": process.name,
                    "pid": process.pid,
                    "running": process.is_running(),
                    "log": process.log,
                }
                for process in component.processes
            ],
            "endpoints": [{"label": e.label, "url": e.url} for e in component.endpoints],
        }
        for component in state.components
    ]
    all_running = all(p["running"] for c in components for p in c["processes"])
    json.dump(
        {
            "run_dir": state.run_dir,
            "state": "running" if all_running else "degraded",
            "all_running": all_running,
            "started_at": state.started_at,
            "ports": state.ports,
            "files": state.files,
            "components": components,
        },
        out,
        ensure_ascii=False,
    )
    print(file=out)
    return 0 if all_running else 1


def down(args: argparse.Namespace, out: TextIO) -> int:
    run_dir: Path = args.run_dir.resolve()
    state = ClusterState.load(run_dir)
    if state is None:
        print(f"not running (no state in {run_dir})", file=out)
        return 0
    leftovers = []
    for component in reversed(state.components):
        for process in reversed(component.processes):
            gone = stop_detached_group(
                process.pid,
                start_ticks=process.start_ticks,
                grace_seconds=process.stop_grace_seconds,
            )
            if not gone:
                leftovers.append(f"{process.name} (pid {process.pid})")
        print(f"stopped {component.name}", file=out, flush=True)
    if leftovers:
        print(f"could not stop: {', '.join(leftovers)}", file=out)
        return 1
    ClusterState.remove(run_dir)
    return 0


def list_ports(out: TextIO) -> int:
    for name in port_names(COMPONENTS):
        print(f"  {name:<22} {port_environment_variable(name)}", file=out)
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "up":
            return up(args, out)
        if args.command == "status":
            return status(args, out)
        if args.command == "down":
            return down(args, out)
        if args.command == "scale":
            return scale_service(args.run_dir.resolve(), args.service, args.count, out)
        if args.command == "restart":
            return restart_service(args.run_dir.resolve(), args.service, out)
        return list_ports(out)
    except PortPlanError as error:
        print(f"devcluster: {error}", file=sys.stderr)
        return 2
    except (ControlError, RuntimeApiError, ProcessStartError) as error:
        print(f"devcluster {args.command}: {error}", file=sys.stderr)
        return 1
