"""``python -m bench``: run the targets side by side, print the table, write the JSON.

python -m bench                      # everything (~15 min on 2 cores)
python -m bench --quick              # short phases, one of each kind (~2 min)
python -m bench --only ceiling,ptb,ours --instances 1,2,3 --residents 1000,10000
python -m bench --only broadcast     # 3,000 recipients through the emulator's 30 msg/s
python -m bench --only broadcast --broadcast-concurrency 4,8,16   # fan-outs side by side
python -m bench --only reminders     # 1,000 reminders due in the same minute, same budget
python -m bench --only ours,tracing  # ours-1 with tracing off and on (docs/tracing.md)
python -m bench --profile            # py-spy flame graph of one bot worker (docs/bench/)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.broadcast import run_broadcast, run_pacing
from bench.reminders import run_reminders
from bench.run import Options, Target, run_target
from bench.stack import Shared
from devcluster.paths import REPO_ROOT

KINDS = ("ceiling", "ptb", "ours", "tracing", "residents", "broadcast", "reminders")


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short phases; ceiling, PTB tuned, ours-1, a 600-recipient broadcast (~2 min)",
    )
    parser.add_argument("--only", default=",".join(KINDS), help=f"subset of {','.join(KINDS)}")
    parser.add_argument("--instances", default=None, help="bot instances for 'ours' (1,2,3)")
    parser.add_argument("--residents", default=None, help="residents seeded (1000,10000,100000)")
    parser.add_argument("--saturation-s", type=float, default=None)
    parser.add_argument("--open-s", type=float, default=None)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers per instance")
    parser.add_argument(
        "--broadcast-recipients", type=int, default=None, help="3000 (--quick: 600)"
    )
    parser.add_argument(
        "--broadcast-concurrency",
        default=None,
        help="fan-out sends in flight, one broadcast run each (4,8,16; default: the setting's)",
    )
    parser.add_argument(
        "--reminders-due", type=int, default=None, help="1000 (--quick --only reminders: 200)"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy record one bot worker")
    parser.add_argument("--profile-target", default=None, help="which target (default: first ours)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "var" / "bench")
    parser.add_argument("--table", type=Path, default=None, help="print the tables of a report")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(KINDS)
    if unknown:
        parser.error(f"unknown --only parts: {sorted(unknown)}")
    return args


def targets(args: argparse.Namespace) -> list[Target]:
    only = args.only.split(",")
    instances = _ints(args.instances or ("1" if args.quick else "1,2,3"))
    residents = _ints(args.residents or ("1000" if args.quick else "1000,10000,100000"))
    chosen: list[Target] = []
    if "ceiling" in only:
        chosen.append(Target("ceiling", "ceiling"))
    if "ptb" in only:
        if not args.quick:
            chosen.append(Target("ptb-untuned", "ptb"))
        chosen.append(Target("ptb-tuned", "ptb", tuned=True))
    if "ours" in only:
        chosen += [Target(f"ours-{n}", "ours", instances=n) for n in instances]
    if "tracing" in only:
        # ours-N again with tracing on, right after it: what tracing costs (docs/tracing.md).
        plain = f"ours-{instances[0]}"
        traced = Target(f"{plain}-tracing", "ours", instances=instances[0], tracing=True)
        after = next((i + 1 for i, t in enumerate(chosen) if t.name == plain), len(chosen))
        chosen.insert(after, traced)
    # --quick leaves the data-growth runs out unless they are asked for by name
    if "residents" in only and not (args.quick and args.only == ",".join(KINDS)):
        top = max(instances)
        chosen += [
            Target(f"ours-{top}-residents-{r}", "ours", instances=top, residents=r)
            for r in residents
        ]
    return chosen


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'target':<28} {'upd/s':>7} {'p50@25%':>8} {'p95@50%':>8} {'p99@80%':>8} "
        f"{'max@80%':>8} {'err':>4} {'lost':>4} {'dup':>4} {'db':>4} "
        f"{'cpu s/1k: bots':>14} {'hap':>5} {'redis':>5} {'db':>5} {'drv':>5} {'sink':>5}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        if "saturation" not in r:
            continue
        sat, loops, cpu = r["saturation"], r["open_loop"], r["cpu_s_per_1000_updates"]

        def lat(load: str, q: str, loops: dict[str, Any] = loops) -> Any:
            return loops.get(load, {}).get("latency_ms", {}).get(q)

        phases = [sat, *loops.values()]
        errors = sum(sum(p["errors"].values()) for p in phases)
        lost = sum(p["lost"] for p in phases)
        dups = sum(p["duplicates"] for p in phases)
        check = r.get("database_check")
        db = "-" if check is None else ("ok" if check["ok"] else "FAIL")
        lines.append(
            f"{r['target']:<28} {_fmt(sat['updates_per_s']):>7} {_fmt(lat('25%', 'p50')):>8} "
            f"{_fmt(lat('50%', 'p95')):>8} {_fmt(lat('80%', 'p99')):>8} "
            f"{_fmt(lat('80%', 'max')):>8} {errors:>4} {lost:>4} {dups:>4} {db:>4} "
            f"{_fmt(cpu.get('bots')):>14} {_fmt(cpu.get('haproxy')):>5} "
            f"{_fmt(cpu.get('redis')):>5} {_fmt(cpu.get('database')):>5} "
            f"{_fmt(cpu.get('driver')):>5} {_fmt(cpu.get('sink')):>5}"
        )
    return "\n".join(lines)


def _write_partial(out: Path, report: dict[str, Any]) -> None:
    """What is measured so far, so that a run cut short still leaves its figures."""
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    (out / "partial.json").write_text(text, encoding="utf-8")


def latency_table(results: list[dict[str, Any]]) -> str:
    """Latency (ms) of every phase: the saturation's and the open loop's at each load."""
    head = (
        f"{'target':<28} {'phase':<10} {'offered':>8} {'achieved':>8} "
        f"{'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        if "saturation" not in r:
            continue
        for phase, stats in [("saturation", r["saturation"]), *r["open_loop"].items()]:
            lat = stats["latency_ms"]
            lines.append(
                f"{r['target']:<28} {phase:<10} {_fmt(stats['offered_per_s']):>8} "
                f"{_fmt(stats['updates_per_s']):>8} {_fmt(lat['p50']):>8} {_fmt(lat['p95']):>8} "
                f"{_fmt(lat['p99']):>8} {_fmt(lat['max']):>8}"
            )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    options = Options(
        saturation_s=args.saturation_s or (8.0 if args.quick else 20.0),
        warmup_s=2.0 if args.quick else 4.0,
        open_s=args.open_s or (5.0 if args.quick else 12.0),
        workers=args.workers,
        profile_dir=(REPO_ROOT / "docs" / "bench") if args.profile else None,
        profile_target=args.profile_target
        or next((t.name for t in targets(args) if t.kind == "ours"), ""),
    )
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "machine": machine(),
        "options": {k: str(v) for k, v in vars(options).items()},
        "results": [],
    }
    chosen = targets(args)
    run_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    broadcast = "broadcast" in args.only.split(",")
    # --quick leaves the reminder batch out unless it is asked for by name (it adds minutes here)
    reminders = "reminders" in args.only.split(",") and not (
        args.quick and args.only == ",".join(KINDS)
    )
    if chosen or broadcast or reminders:
        shared = await asyncio.to_thread(Shared.start, run_dir)
        try:
            for target in chosen:
                print(f"bench: {target.name} ...", flush=True)
                try:
                    result = await run_target(shared, target, options)
                except Exception as error:
                    result = {"target": target.name, "error": f"{type(error).__name__}: {error}"}
                    print(f"bench: {target.name} failed: {error}", file=sys.stderr, flush=True)
                report["results"].append(result)
                _write_partial(args.out, report)
            if broadcast:
                print("bench: broadcast ...", flush=True)
                recipients = args.broadcast_recipients or (600 if args.quick else 3000)
                runs: list[dict[str, Any]] = []
                for concurrency in _ints(args.broadcast_concurrency or "0"):
                    try:
                        runs.append(await run_broadcast(shared, recipients, concurrency or None))
                    except Exception as error:
                        runs.append({"error": f"{type(error).__name__}: {error}"})
                    _write_partial(args.out, {**report, "broadcast_runs": runs})
                report["broadcast"] = runs[0]
                if len(runs) > 1:
                    report["broadcast_runs"] = runs
                try:
                    report["broadcast_pacing"] = await run_pacing(shared, min(recipients, 900))
                except Exception as error:
                    report["broadcast_pacing"] = {"error": f"{type(error).__name__}: {error}"}
            if reminders:
                print("bench: reminders ...", flush=True)
                try:
                    due = args.reminders_due or (200 if args.quick else 1000)
                    report["reminders"] = await run_reminders(shared, due)
                except Exception as error:
                    report["reminders"] = {"error": f"{type(error).__name__}: {error}"}
        finally:
            await asyncio.to_thread(shared.stop)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["run_dir"] = str(run_dir)
    return report


def cli(argv: list[str]) -> int:
    args = parse(argv)
    if args.table is not None:
        shown = json.loads(args.table.read_text(encoding="utf-8"))
        print(table(shown["results"]))
        print()
        print(latency_table(shown["results"]))
        return 0
    report = asyncio.run(main(args))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = report["started_at"].replace(":", "").replace("-", "")
    path = args.out / f"bench-{stamp}.json"
    text = json.dumps(report, ensure_ascii=False, indent=2)
    path.write_text(text, encoding="utf-8")
    (args.out / "latest.json").write_text(text, encoding="utf-8")
    print()
    print(table(report["results"]))
    print()
    print(latency_table(report["results"]))
    failed = [r["target"] for r in report["results"] if "error" in r]
    for b in report.get("broadcast_runs", [report["broadcast"]] if "broadcast" in report else []):
        print(
            f"\nbroadcast: {b.get('delivered')} delivered to {b.get('recipients')} in "
            f"{b.get('seconds')} s = {b.get('msg_per_s')} msg/s (budget {b.get('budget_per_s')}/s), "
            f"429s: {b.get('too_many_requests')}, most in any second: "
            f"{b.get('max_sends_in_any_second')}, concurrency: {b.get('concurrency')}"
            + (f", error: {b['error']}" if "error" in b else "")
        )
        if "error" in b:
            failed.append("broadcast")
    if "broadcast_pacing" in report:
        b = report["broadcast_pacing"]
        print(
            f"\nthe limiter alone: {b.get('delivered')} of {b.get('sends')} sent by "
            f"{b.get('senders')} senders in {b.get('seconds')} s = {b.get('msg_per_s')} msg/s "
            f"(budget {b.get('budget_per_s')}/s), 429s: {b.get('too_many_requests')}, most in any "
            f"second: {b.get('max_sends_in_any_second')}"
            + (f", error: {b['error']}" if "error" in b else "")
        )
        if "error" in b:
            failed.append("broadcast_pacing")
    if "reminders" in report:
        r = report["reminders"]
        print(
            f"\nreminders: {r.get('delivered')} delivered to {r.get('due')} in {r.get('seconds')} s "
            f"= {r.get('msg_per_s')} msg/s (budget {r.get('budget_per_s')}/s), "
            f"429s: {r.get('too_many_requests')}, duplicates: {r.get('duplicates')}, "
            f"most in any second: {r.get('max_sends_in_any_second')}"
            + (f", error: {r['error']}" if "error" in r else "")
        )
        if "error" in r:
            failed.append("reminders")
    print(f"\nJSON: {path}" + (f"\nfailed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
