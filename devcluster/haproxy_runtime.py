"""HAProxy's runtime API over its admin socket (``HAPROXY_RUNTIME_SOCKET``, ``level admin``).

What `devcluster scale` and `restart` need of it: add a bot instance to the ``bots`` backend and
take one out (dynamic servers, HAProxy >= 2.4), drain one before it stops, and read each server's
state and live sessions from ``show stat``.
"""

from __future__ import annotations

import csv
import io
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BOT_BACKEND = "bots"
# haproxy.cfg's `default-server` with the local environment's values (CHECK_INTERVAL 2s,
# BOT_MAXCONN 64): a server added at run time does not inherit `default-server`.
BOT_SERVER_OPTIONS = "check inter 2s fall 2 rise 2 maxconn 64"
_ANSWER_TIMEOUT_SECONDS = 10.0


class RuntimeApiError(RuntimeError):
    """HAProxy refused a runtime command, or its socket does not answer."""


@dataclass(frozen=True)
class ServerState:
    name: str
    status: str  # UP, DOWN, MAINT, DRAIN, "UP 1/2", ...
    sessions: int  # scur: requests being served now
    queued: int  # qcur: requests waiting for a connection slot
    total_sessions: int  # stot
    address: str

    @property
    def in_rotation(self) -> bool:
        return self.status.startswith("UP")


class HAProxyRuntime:
    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path

    def command(self, line: str) -> str:
        """Send one command; HAProxy answers and closes (non-interactive mode)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(_ANSWER_TIMEOUT_SECONDS)
                connection.connect(str(self.socket_path))
                connection.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := connection.recv(65536):
                    chunks.append(chunk)
        except OSError as error:
            raise RuntimeApiError(f"HAProxy runtime socket {self.socket_path}: {error}") from error
        return b"".join(chunks).decode(errors="replace").strip()

    def _expect(self, line: str, accepted: Callable[[str], bool]) -> str:
        answer = self.command(line)
        if not accepted(answer):
            raise RuntimeApiError(f"HAProxy refused `{line}`: {answer or '(no answer)'}")
        return answer

    def servers(self, backend: str = BOT_BACKEND) -> dict[str, ServerState]:
        text = self.command("show stat")
        if not text.startswith("# "):
            raise RuntimeApiError(f"HAProxy `show stat` answered: {text[:200]}")
        rows = csv.DictReader(io.StringIO(text[2:]))
        return {
            row["svname"]: ServerState(
                name=row["svname"],
                status=row.get("status", ""),
                sessions=int(row.get("scur") or 0),
                queued=int(row.get("qcur") or 0),
                total_sessions=int(row.get("stot") or 0),
                address=row.get("addr", ""),
            )
            for row in rows
            if row.get("pxname") == backend and row.get("svname") not in {"FRONTEND", "BACKEND"}
        }

    def server(self, name: str, backend: str = BOT_BACKEND) -> ServerState | None:
        return self.servers(backend).get(name)

    def add_server(self, name: str, address: str, backend: str = BOT_BACKEND) -> None:
        """Add a server (it starts in maintenance), start its checks and enable it."""
        self._expect(
            f"add server {backend}/{name} {address} {BOT_SERVER_OPTIONS}",
            lambda answer: "New server registered" in answer,
        )
        self._expect(f"enable health {backend}/{name}", lambda answer: answer == "")
        self.set_state(name, "ready", backend)

    def save_server_state(self, state_file: Path) -> None:
        """Write `show servers state` where ``server-state-file`` points, for the next process
        to start from (replaced whole: a reload never reads half a file)."""
        answer = self.command("show servers state")
        if not answer.startswith("1\n"):  # the format version line
            raise RuntimeApiError(f"HAProxy `show servers state` answered: {answer[:200]}")
        partial = state_file.with_name(state_file.name + ".tmp")
        partial.write_text(answer + "\n")
        partial.replace(state_file)

    def worker_pid(self) -> int:
        """The pid of the worker answering on the socket (a reload replaces it)."""
        for line in self.command("show info").splitlines():
            key, _, value = line.partition(":")
            if key == "Pid":
                return int(value)
        raise RuntimeApiError("HAProxy `show info` has no Pid")

    def set_state(self, name: str, state: str, backend: str = BOT_BACKEND) -> None:
        """`ready` (in rotation once its checks pass), `drain` (no new requests) or `maint`."""
        self._expect(f"set server {backend}/{name} state {state}", lambda answer: answer == "")

    def delete_server(self, name: str, backend: str = BOT_BACKEND, timeout: float = 30.0) -> None:
        """Delete a server in maintenance; HAProxy refuses while connections to it remain."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.command(f"del server {backend}/{name}")
            if "Server deleted" in answer:
                return
            if time.monotonic() >= deadline:
                raise RuntimeApiError(f"HAProxy refused `del server {backend}/{name}`: {answer}")
            time.sleep(0.2)

    def wait_for(
        self,
        name: str,
        condition: Callable[[ServerState], bool],
        *,
        what: str,
        timeout: float,
        backend: str = BOT_BACKEND,
    ) -> ServerState:
        deadline = time.monotonic() + timeout
        while True:
            state = self.server(name, backend)
            if state is not None and condition(state):
                return state
            if time.monotonic() >= deadline:
                seen = f"{state.status}, {state.sessions} in flight" if state else "no such server"
                raise RuntimeApiError(f"{backend}/{name} not {what} after {timeout:.0f} s ({seen})")
            time.sleep(0.1)

    def drain(self, name: str, *, timeout: float, backend: str = BOT_BACKEND) -> None:
        """No new requests to `name`, then wait until the ones it holds have been answered."""
        self.set_state(name, "drain", backend)
        self.wait_for(
            name,
            lambda state: state.sessions == 0 and state.queued == 0,
            what="drained",
            timeout=timeout,
            backend=backend,
        )
