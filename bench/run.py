"""One bench run: every target side by side on the same path, the figures, the checks."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from bench.driver import Driver, PhaseStats
from bench.procstat import Tiers, with_children
from bench.stack import (
    WEBHOOK_PATH,
    Shared,
    bot_env,
    drop_database,
    python_process,
    seed_database,
    start_bots,
    start_edge,
)
from bot.domain.users import User
from bot.infra.mongo.users import user_to_doc
from devcluster.ports import LOOPBACK, free_port
from devcluster.process import ManagedProcess


@dataclass(frozen=True)
class Options:
    saturation_s: float = 20.0
    warmup_s: float = 4.0
    open_s: float = 12.0
    loads: tuple[float, ...] = (0.25, 0.50, 0.80)
    max_connections: int = 40
    think_s: float = 1.0
    workers: int = 1
    profile_dir: Path | None = None
    # the one target whose first bot worker py-spy samples (docs/bench/flame-<target>.svg)
    profile_target: str = "ours-1"


@dataclass
class Target:
    name: str
    kind: str  # ceiling | ptb | ours
    instances: int = 1
    tuned: bool = False
    residents: int = 0
    # The bots trace every update (TRACING_*, docs/tracing.md) into the bench's OTLP sink.
    tracing: bool = False


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def phase_report(stats: PhaseStats) -> dict[str, Any]:
    lat = stats.latencies_ms
    return {
        "seconds": round(stats.seconds, 2),
        "updates": stats.updates,
        "updates_per_s": round(stats.updates / stats.seconds, 2),
        "offered_per_s": round(stats.offered_per_s, 2) if stats.offered_per_s else None,
        "latency_ms": {
            "p50": _r(percentile(lat, 50)),
            "p95": _r(percentile(lat, 95)),
            "p99": _r(percentile(lat, 99)),
            "max": _r(max(lat) if lat else None),
            "mean": _r(statistics.fmean(lat) if lat else None),
        },
        "errors": dict(stats.errors),
        "lost": stats.lost,
        "duplicates": stats.duplicates,
        "stuck_journeys": stats.stuck,
        "stuck_at": dict(stats.stuck_at),
        "stuck_examples": stats.stuck_examples,
    }


def _r(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


async def check_database(mongo_url: str, db_name: str, driver: Driver) -> dict[str, Any]:
    """Every effect a journey reached, looked up in MongoDB."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = client[db_name]
    expected: dict[str, set[int]] = {}
    for chat in driver.chats.values():
        for effect in chat.person.effects:
            expected.setdefault(effect, set()).add(chat.person.user_id)
    found: dict[str, set[int]] = {}
    try:
        ids = list(expected.get("registered", set()))
        found["registered"] = {
            int(d["_id"])
            async for d in db.users.find(
                {"_id": {"$in": ids}, "consent_at": {"$ne": None}, "phone": {"$ne": None}}
            )
        }
        found["applied"] = {
            int(d["user_id"])
            async for d in db.applications.find(
                {"user_id": {"$in": list(expected.get("applied", set()))}, "active": True}
            )
        }
        found["booked"] = {
            int(d["user_id"])
            async for d in db.bookings.find(
                {"user_id": {"$in": list(expected.get("booked", set()))}}
            )
        }
        found["cancelled"] = {
            int(d["user_id"])
            async for d in db.bookings.find(
                {"user_id": {"$in": list(expected.get("cancelled", set()))}, "status": "cancelled"}
            )
        }
        overbooked = [
            s["_id"] async for s in db.sessions.find({"$expr": {"$gt": ["$booked", "$capacity"]}})
        ]
    finally:
        await client.close()
    report: dict[str, Any] = {}
    for effect in ("registered", "applied", "booked", "cancelled"):
        want = expected.get(effect, set())
        missing = want - found.get(effect, set())
        report[effect] = {"expected": len(want), "found": len(want) - len(missing)}
    report["sessions_over_capacity"] = len(overbooked)
    report["ok"] = not overbooked and all(
        v["expected"] == v["found"] for k, v in report.items() if isinstance(v, dict)
    )
    return report


async def seed_residents(mongo_url: str, db_name: str, count: int) -> float:
    """``count`` registered residents, as the users repository writes them; seconds taken."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    started = time.monotonic()
    now = datetime.now(UTC)
    try:
        batch: list[dict[str, Any]] = []
        for number in range(count):
            uid = 9_000_000_000 + number  # outside the driver's id range
            batch.append(
                user_to_doc(
                    User(
                        uid,
                        name=f"Резидент{number:06d}",
                        phone=f"+7913{number:07d}",
                        consent_at=now,
                        registered_at=now,
                    )
                )
            )
            if len(batch) == 5000:
                await client[db_name].users.insert_many(batch, ordered=False)
                batch = []
        if batch:
            await client[db_name].users.insert_many(batch, ordered=False)
    finally:
        await client.close()
    return time.monotonic() - started


async def run_target(shared: Shared, target: Target, options: Options) -> dict[str, Any]:
    run_dir = shared.run_dir / target.name
    run_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"target": target.name, "kind": target.kind}
    processes: list[ManagedProcess] = []
    instances = []
    db_name = ""
    tiers: dict[str, list[int]] = dict(shared.pids())
    stops: list[Callable[[], None]] = []
    try:
        if target.kind == "ceiling":
            port = free_port()
            proc = python_process(
                run_dir,
                "ceiling",
                "bench.ceiling",
                "--port",
                str(port),
                "--sink-port",
                str(shared.sink_port),
                "--token",
                shared.token,
            )
            proc.wait_ready(port=port, timeout=20)
            processes.append(proc)
            backends = [f"{LOOPBACK}:{port}"]
            tiers["bots"] = [proc.pid or 0]
        elif target.kind == "ptb":
            port = free_port()
            args = [
                "--port",
                str(port),
                "--sink-url",
                shared.sink_url,
                "--token",
                shared.token,
                "--secret",
                shared.secret,
                "--max-connections",
                str(options.max_connections),
            ]
            proc = python_process(
                run_dir, "ptb", "bench.ptb_app", *args, *(["--tuned"] if target.tuned else [])
            )
            proc.wait_ready(port=port, timeout=30)
            processes.append(proc)
            backends = [f"{LOOPBACK}:{port}"]
            tiers["bots"] = [proc.pid or 0]
        else:
            db_name = f"bench_{uuid.uuid4().hex[:10]}"
            shared.redis_cluster.flush_all_masters()
            await seed_database(shared.secantus.url, db_name)
            if target.residents:
                seconds = await seed_residents(shared.secantus.url, db_name, target.residents)
                result["residents"] = target.residents
                result["seed_residents_s"] = round(seconds, 1)
            tracing: dict[str, str] = {}
            if target.tracing:
                otlp = OtlpSink()
                stops.append(otlp.stop)
                # Every update traced unless the bench is run with a ratio of its own.
                ratio = os.environ.get("TRACING_SAMPLE_RATIO", "1.0")
                tracing = {
                    "TRACING_ENABLED": "true",
                    "TRACING_OTLP_ENDPOINT": otlp.url,
                    "TRACING_SAMPLE_RATIO": ratio,
                }
                result["otlp"] = otlp.counts
                result["tracing_sample_ratio"] = float(ratio)
            result["tracing"] = "on" if target.tracing else "off"
            env = bot_env(shared, db_name, tracing)
            instances = await asyncio.to_thread(
                start_bots, run_dir, env, target.instances, options.workers
            )
            backends = [i.address for i in instances]
            tiers["bots"] = [p for i in instances if i.pid for p in with_children(i.pid)]
        edge = await asyncio.to_thread(start_edge, run_dir, shared, backends, target.name)
        processes.append(edge.process)
        tiers["haproxy"] = [edge.process.pid or 0]
        tiers["driver"] = [os.getpid()]
        meter = Tiers(tiers)
        tls = ssl.create_default_context(cafile=str(shared.tls.ca_pem))
        async with Driver(
            host=LOOPBACK,
            port=edge.https_port,
            path=WEBHOOK_PATH,
            secret=shared.secret,
            tls=tls,
            feed_port=shared.feed_port,
            max_connections=options.max_connections,
            think_s=options.think_s,
        ) as driver:
            if options.warmup_s:
                await driver.closed_loop("warmup", options.warmup_s)
            profile = _start_profile(options, target, tiers.get("bots", []), run_dir)
            before, wall = meter.cpu(), time.monotonic()
            saturation = await driver.closed_loop("saturation", options.saturation_s)
            after, wall = meter.cpu(), time.monotonic() - wall
            if profile is not None:
                # py-spy stops itself after --duration and then writes the SVG
                await asyncio.to_thread(_wait_exit, profile, 60.0)
                result["profile"] = str(profile.argv[profile.argv.index("-o") + 1])
            rss = meter.rss()
            sat = phase_report(saturation)
            result["saturation"] = sat
            result["cpu_s_per_1000_updates"] = {
                tier: round((after[tier] - before[tier]) / max(saturation.updates, 1) * 1000, 2)
                for tier in tiers
            }
            result["cpu_share_of_wall"] = {
                tier: round((after[tier] - before[tier]) / wall, 2) for tier in tiers
            }
            result["rss_mb"] = {
                tier: [round(b / 2**20, 1) for b in values] for tier, values in rss.items()
            }
            rate = sat["updates_per_s"]
            result["open_loop"] = {}
            for load in options.loads:
                stats = await driver.open_loop(f"load-{load}", rate * load, options.open_s)
                result["open_loop"][f"{round(load * 100)}%"] = phase_report(stats)
            await driver.drain()
            await asyncio.sleep(0.5)
            result["people"] = len(driver.chats)
            result["journeys_finished"] = sum(c.person.finished for c in driver.chats.values())
            result["stray_replies"] = driver.stray_replies
            result["methods_in_webhook_answers"] = driver.methods_in_response
            if target.kind == "ours":
                result["database_check"] = await check_database(
                    shared.secantus.url, db_name, driver
                )
    finally:
        for process in reversed(processes):
            await asyncio.to_thread(process.stop)
        await asyncio.gather(*(asyncio.to_thread(i.stop) for i in instances))
        if db_name:
            await drop_database(shared.secantus.url, db_name)
        for stop in stops:
            stop()
    return result


class OtlpSink:
    """A collector stand-in on loopback: takes OTLP/HTTP exports, counts them, keeps nothing."""

    def __init__(self) -> None:
        counts = self.counts = {"exports": 0, "bytes": 0}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                counts["bytes"] += len(self.rfile.read(int(self.headers["Content-Length"])))
                counts["exports"] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}/v1/traces"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _wait_exit(process: ManagedProcess, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while process.is_running() and time.monotonic() < deadline:
        time.sleep(0.2)
    process.stop()


def _start_profile(
    options: Options, target: Target, pids: list[int], run_dir: Path
) -> ManagedProcess | None:
    """py-spy on the first uvicorn worker of the target (not its gunicorn master)."""
    if options.profile_dir is None or target.name != options.profile_target or len(pids) < 2:
        return None
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    options.profile_dir.mkdir(parents=True, exist_ok=True)
    out = options.profile_dir / f"flame-{target.name}.svg"
    return ManagedProcess(
        f"py-spy-{target.name}",
        [
            py_spy,
            "record",
            "-o",
            str(out),
            "--pid",
            str(pids[1]),
            "--duration",
            str(int(options.saturation_s)),
            "--nonblocking",
        ],
        log_dir=run_dir,
        stop_grace_seconds=30,
    ).start()
