"""Harness: real HAProxy (haproxy/haproxy.cfg) in front of three tiny real HTTP backends, on free ports.

The backends stand in for bot instances only in what HAProxy can observe: `/ready` (switchable
to 503, to simulate an instance going unready) and the webhook path, which answers with the
backend's name and records what reached it.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from devcluster.edge import reload_edge
from devcluster.ports import LOOPBACK, free_ports
from devcluster.process import ManagedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CFG = REPO_ROOT / "haproxy" / "haproxy.cfg"
MAKE_CERT = REPO_ROOT / "scripts" / "make-selfsigned-cert.sh"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_TOKEN = "test-secret_token-Az09"
STATS_PASSWORD = "stats-password-for-tests"
BACKEND_NAMES = ("bot1", "bot2", "bot3")


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class EchoBackend:
    """A plain HTTP server on a free port that plays one bot instance."""

    name: str
    server: ThreadingHTTPServer
    ready: bool = True
    # /ready answers 503 this many more times, then as `ready` says (a check slow for a moment)
    failing_checks: int = 0
    # crashed: webhook calls get the connection dropped without an answer (a process dying
    # mid-request), and the listening socket is closed for new connections
    crashed: bool = False
    received: list[ReceivedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.server.server_port}"

    def crash(self) -> None:
        """Stop answering: drop the connections in use, refuse new ones."""
        self.crashed = True
        self.server.socket.close()

    def webhook_hits(self) -> list[ReceivedRequest]:
        with self.lock:
            return [r for r in self.received if r.path == WEBHOOK_PATH]

    def all_non_health_hits(self) -> list[ReceivedRequest]:
        with self.lock:
            return [r for r in self.received if r.path != "/ready"]


def _handler_for(backend_ref: list[EchoBackend]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes; with Nagle on, each answer waits ~40 ms for an ACK
        disable_nagle_algorithm = True

        def _record_and_answer(self) -> None:
            backend = backend_ref[0]
            if backend.crashed:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with backend.lock:
                backend.received.append(
                    ReceivedRequest(
                        self.command,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
            payload: dict[str, object]
            if self.path == "/ready":
                with backend.lock:
                    failing = backend.failing_checks > 0
                    backend.failing_checks -= failing
                ready = backend.ready and not failing
                status = 200 if ready else 503
                payload = {"ready": ready}
            elif self.path == WEBHOOK_PATH:
                status, payload = 200, {"backend": backend.name}
            else:
                status, payload = 404, {"error": "not found"}
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _record_and_answer
        do_POST = _record_and_answer

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep test output readable; HAProxy logs every request anyway

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # HAProxy's health checks hang up as soon as they have read the status line.
        return


@pytest.fixture
def backends() -> Iterator[list[EchoBackend]]:
    started: list[tuple[EchoBackend, threading.Thread]] = []
    try:
        for name in BACKEND_NAMES:
            ref: list[EchoBackend] = []
            server = _QuietServer((LOOPBACK, 0), _handler_for(ref))
            backend = EchoBackend(name=name, server=server)
            ref.append(backend)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"echo-{name}",
                daemon=True,
            )
            thread.start()
            started.append((backend, thread))
        yield [backend for backend, _ in started]
    finally:
        for backend, thread in started:
            backend.server.shutdown()
            backend.server.server_close()
            thread.join(timeout=5)


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tls")
    subprocess.run([str(MAKE_CERT), str(out), "localhost"], check=True, capture_output=True)
    return out


@dataclass
class Edge:
    """A running HAProxy and how to reach each of its listeners."""

    process: ManagedProcess
    https_port: int
    http_port: int
    stats_port: int
    metrics_port: int
    runtime_socket: Path
    ca_file: Path
    server_state_file: Path | None = None

    def reload(self) -> None:
        reload_edge(self.process, self.runtime_socket, self.server_state_file)

    @property
    def webhook_url(self) -> str:
        return f"https://localhost:{self.https_port}{WEBHOOK_PATH}"

    def client(self) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return httpx.Client(verify=context, timeout=10.0)

    def runtime_command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.runtime_socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_states(self) -> dict[str, str]:
        """Operational state of each bot server as HAProxy sees it (UP, DOWN, ...)."""
        states: dict[str, str] = {}
        csv = self.runtime_command("show stat")
        header: list[str] = []
        for line in csv.splitlines():
            if line.startswith("# "):
                header = line[2:].split(",")
                continue
            if not line:
                continue
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "bots" and row.get("svname") in BACKEND_NAMES:
                states[row["svname"]] = row["status"]
        return states

    def wait_for_states(self, expected: Mapping[str, str], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = self.server_states()
            if all(states.get(name, "").startswith(want) for name, want in expected.items()):
                return
            time.sleep(0.05)
        raise AssertionError(f"servers did not reach {dict(expected)}; last seen {states}")


def haproxy_env(
    backends: list[EchoBackend], cert_dir: Path, ports: list[int], socket_path: Path
) -> dict[str, str]:
    https_port, http_port, stats_port, metrics_port = ports
    return {
        "BOT1_ADDR": backends[0].address,
        "BOT2_ADDR": backends[1].address,
        "BOT3_ADDR": backends[2].address,
        "TLS_CERT_PEM": str(cert_dir / "haproxy.pem"),
        "WEBHOOK_PATH": WEBHOOK_PATH,
        "WEBHOOK_SECRET_TOKEN": SECRET_TOKEN,
        "STATS_PASSWORD": STATS_PASSWORD,
        "HTTPS_BIND": f"{LOOPBACK}:{https_port}",
        "HTTP_BIND": f"{LOOPBACK}:{http_port}",
        "STATS_BIND": f"{LOOPBACK}:{stats_port}",
        "METRICS_BIND": f"{LOOPBACK}:{metrics_port}",
        "CHECK_INTERVAL": "200ms",
        "HAPROXY_RUNTIME_SOCKET": str(socket_path),
        "LOG_LEVEL": "info",
    }


@pytest.fixture
def start_edge(
    backends: list[EchoBackend], cert_dir: Path, tmp_path: Path
) -> Iterator[Callable[..., Edge]]:
    """Start HAProxy with the test environment plus overrides; stopped after the test."""
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        pytest.fail("haproxy is not installed (apt-get install haproxy)")
    running: list[ManagedProcess] = []

    def start(*, reloadable: bool = False, **overrides: str) -> Edge:
        """``reloadable``: master-worker mode with a server state file, as an operator runs it."""
        ports = free_ports(4)
        socket_path = tmp_path / f"haproxy-{len(running)}.sock"
        env = haproxy_env(backends, cert_dir, ports, socket_path) | overrides
        state_file = None
        mode = ["-db"]
        if reloadable:
            state_file = tmp_path / f"haproxy-{len(running)}.state"
            env["HAPROXY_SERVER_STATE_FILE"] = str(state_file)
            mode = ["-W", "-db"]
        process = ManagedProcess(
            f"haproxy-{len(running)}",
            [haproxy, *mode, "-f", str(HAPROXY_CFG)],
            log_dir=tmp_path,
            env=env,
            stop_grace_seconds=5,
        )
        running.append(process.start())
        https_port, http_port, stats_port, metrics_port = ports
        edge = Edge(
            process,
            https_port,
            http_port,
            stats_port,
            metrics_port,
            runtime_socket=socket_path,
            ca_file=cert_dir / "ca.pem",
            server_state_file=state_file,
        )
        process.wait_ready(port=edge.https_port, check=lambda: socket_path.exists())
        process.wait_ready(port=edge.metrics_port)
        edge.wait_for_states(dict.fromkeys(BACKEND_NAMES, "UP"))
        return edge

    yield start
    for process in running:
        process.stop()


@pytest.fixture
def edge(start_edge: Callable[..., Edge]) -> Edge:
    return start_edge()


def update_for_chat(chat_id: int, update_id: int = 1, kind: str = "message") -> dict[str, Any]:
    """A minimal Telegram update of the given kind belonging to chat `chat_id`."""
    user = {"id": abs(chat_id), "is_bot": False, "first_name": "Тест"}
    message = {
        "message_id": update_id,
        "date": 1_700_000_000,
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
        "from": user,
        "text": "/start",
    }
    if kind == "message":
        return {"update_id": update_id, "message": message}
    if kind == "edited_message":
        return {"update_id": update_id, "edited_message": message}
    if kind == "callback_query":
        query = {"id": str(update_id), "from": user, "chat_instance": "1", "data": "m:1"}
        return {"update_id": update_id, "callback_query": query | {"message": message}}
    raise ValueError(kind)


def webhook_headers(secret: str | None = SECRET_TOKEN) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return headers


def post_update(client: httpx.Client, edge: Edge, update: Mapping[str, Any]) -> httpx.Response:
    return client.post(edge.webhook_url, content=json.dumps(update), headers=webhook_headers())
