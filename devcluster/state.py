"""The state file of a running local cluster, so `status` and `down` work from another shell."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from devcluster.credentials import write_private_file
from devcluster.process import ManagedProcess, is_same_process

STATE_FILE = "state.json"
STATE_VERSION = 1


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    start_ticks: int
    argv: list[str]
    log: str
    stop_grace_seconds: float

    @classmethod
    def of(cls, process: ManagedProcess) -> ProcessRecord:
        if process.pid is None or process.start_ticks is None:
            raise ValueError(f"{process.name} has not been started")
        return cls(
            name=process.name,
            pid=process.pid,
            start_ticks=process.start_ticks,
            argv=process.argv,
            log=str(process.log_path),
            stop_grace_seconds=process.stop_grace_seconds,
        )

    def is_running(self) -> bool:
        return is_same_process(self.pid, self.start_ticks)


@dataclass(frozen=True)
class EndpointRecord:
    label: str
    url: str


@dataclass
class ComponentRecord:
    name: str
    processes: list[ProcessRecord]
    endpoints: list[EndpointRecord]


@dataclass
class ClusterState:
    run_dir: str
    started_at: str
    ports: dict[str, int]
    files: dict[str, str]
    components: list[ComponentRecord] = field(default_factory=list)
    version: int = STATE_VERSION

    def save(self) -> Path:
        path = Path(self.run_dir) / STATE_FILE
        # The state names log files and argv only; secrets stay in credentials.json and bot.env.
        # Written aside and renamed: `status` in another shell never reads half of it (`scale`
        # rewrites it while the cluster runs).
        partial = path.with_name(f".{STATE_FILE}.partial")
        write_private_file(partial, json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n")
        partial.replace(path)
        return path

    @classmethod
    def load(cls, run_dir: Path) -> ClusterState | None:
        try:
            raw = json.loads((run_dir / STATE_FILE).read_text())
        except FileNotFoundError:
            return None
        if raw.get("version") != STATE_VERSION:
            raise ValueError(f"{run_dir / STATE_FILE} has an unknown version {raw.get('version')}")
        return cls(
            run_dir=raw["run_dir"],
            started_at=raw["started_at"],
            ports=raw["ports"],
            files=raw["files"],
            components=[
                ComponentRecord(
                    name=component["name"],
                    processes=[ProcessRecord(**process) for process in component["processes"]],
                    endpoints=[EndpointRecord(**endpoint) for endpoint in component["endpoints"]],
                )
                for component in raw["components"]
            ],
        )

    @staticmethod
    def remove(run_dir: Path) -> None:
        (run_dir / STATE_FILE).unlink(missing_ok=True)

    def all_processes(self) -> list[ProcessRecord]:
        return [process for component in self.components for process in component.processes]
