"""SecantusDB, the MongoDB-wire server that stands in for mongod locally and in tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pymongo import MongoClient

from devcluster.executables import find_executable
from devcluster.ports import LOOPBACK, free_port
from devcluster.process import ManagedProcess, SingleProcessService

IN_MEMORY = ":memory:"
# SecantusDB checkpoints WiredTiger on SIGTERM, which takes a few seconds; killing it earlier
# can leave a persistent storage directory needing recovery.
_STOP_GRACE_SECONDS = 30.0
_READY_TIMEOUT_SECONDS = 60.0


class SecantusServer(SingleProcessService):
    """One `secantusd-py` process; `storage_path=":memory:"` gives a throwaway database."""

    def __init__(
        self,
        run_dir: Path,
        *,
        port: int | None = None,
        storage_path: Path | str = IN_MEMORY,
        name: str = "secantus",
        die_with_parent: bool = True,
        sync_on_commit: bool = False,
    ) -> None:
        """``sync_on_commit``: fsync WiredTiger's log at every commit, as mongod's journal does for
        a ``j: true`` (or, by default, ``w: majority``) write: an acknowledged write then survives
        a crash, and a full disk is met at the write that needs the space."""
        self.host = LOOPBACK
        self.port = port if port is not None else free_port()
        self.storage_path = str(storage_path)
        argv = [
            find_executable("secantusd-py"),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--storage-path",
            self.storage_path,
            *(["--sync-on-commit"] if sync_on_commit else []),
        ]
        self.process = ManagedProcess(
            name,
            argv,
            log_dir=run_dir,
            # Without an explicit --config it would pick up ./secantusd.toml from the cwd.
            cwd=run_dir,
            die_with_parent=die_with_parent,
            stop_grace_seconds=_STOP_GRACE_SECONDS,
        )

    @property
    def url(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    def answers_hello(self) -> bool:
        client: MongoClient[dict[str, Any]]
        with MongoClient(self.url, serverSelectionTimeoutMS=500, connectTimeoutMS=500) as client:
            reply = client.admin.command("hello")
        return bool(reply.get("ok"))

    def before_start(self) -> None:
        if self.storage_path != IN_MEMORY:
            Path(self.storage_path).mkdir(parents=True, exist_ok=True)

    def wait_ready(self) -> None:
        self.process.wait_ready(
            port=self.port, check=self.answers_hello, timeout=_READY_TIMEOUT_SECONDS
        )
