"""devcluster's HAProxy runtime API client against a real HAProxy: a server added at run time
enters rotation behind consistent hashing (as haproxy.cfg balances), a drain waits for the
request the server holds, a deleted server is gone, and a refused command is an error."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from devcluster.haproxy_runtime import HAProxyRuntime, RuntimeApiError
from devcluster.ports import LOOPBACK, free_ports
from devcluster.process import ManagedProcess

CONFIG = """
global
    stats socket {socket} mode 600 level admin
defaults
    mode http
    timeout connect 3s
    timeout client 30s
    timeout server 30s
frontend webhook
    bind {frontend}
    default_backend bots
backend bots
    balance hash req.hdr(x-chat)
    hash-type consistent
    option httpchk
    http-check send meth GET uri /ready ver HTTP/1.1 hdr Host fok-bot
    default-server check inter 500ms fall 2 rise 1
    server bot1 {bot1}
"""


class Backend:
    """An HTTP server playing a bot instance: /ready answers, /hold answers once released."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.release = threading.Event()
        self.holding = threading.Event()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/hold":
                    backend.holding.set()
                    backend.release.wait(30)
                body = backend.name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.server.server_port}"


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[tuple[HAProxyRuntime, str, Backend, Backend]]:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        pytest.fail("haproxy is not installed (scripts/install.sh)")
    bot1, bot2 = Backend("bot1"), Backend("bot2")
    (port,) = free_ports(1)
    socket_path = tmp_path / "haproxy.sock"
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        CONFIG.format(socket=socket_path, frontend=f"{LOOPBACK}:{port}", bot1=bot1.address)
    )
    process = ManagedProcess("haproxy", [haproxy, "-db", "-f", str(config)], log_dir=tmp_path)
    with process:
        process.wait_ready(port=port, check=socket_path.exists)
        try:
            yield HAProxyRuntime(socket_path), f"http://{LOOPBACK}:{port}", bot1, bot2
        finally:
            for backend in (bot1, bot2):
                backend.release.set()
                backend.server.shutdown()
                backend.server.server_close()


def test_an_added_server_takes_traffic_drains_and_is_deleted(
    edge: tuple[HAProxyRuntime, str, Backend, Backend],
) -> None:
    runtime, url, _, bot2 = edge
    runtime.add_server("bot2", bot2.address)
    runtime.wait_for("bot2", lambda s: s.in_rotation, what="in rotation", timeout=30)
    assert set(runtime.servers()) == {"bot1", "bot2"}
    # bot1 out of the way: every chat now hashes to bot2
    runtime.set_state("bot1", "maint")
    answered = httpx.get(f"{url}/", headers={"x-chat": "42"}, timeout=10)
    assert answered.text == "bot2"

    held: list[httpx.Response] = []
    holder = threading.Thread(
        target=lambda: held.append(httpx.get(f"{url}/hold", headers={"x-chat": "7"}, timeout=30))
    )
    holder.start()
    assert bot2.holding.wait(10)
    runtime.wait_for("bot2", lambda s: s.sessions == 1, what="holding a request", timeout=10)
    drained = threading.Event()
    drainer = threading.Thread(
        target=lambda: (runtime.drain("bot2", timeout=30), drained.set()), daemon=True
    )
    drainer.start()
    runtime.wait_for("bot2", lambda s: s.status.startswith("DRAIN"), what="draining", timeout=10)
    # the request it holds is still in flight: the drain cannot be over
    assert runtime.server("bot2").sessions == 1  # type: ignore[union-attr]
    assert not drained.is_set()
    bot2.release.set()
    holder.join(10)
    assert drained.wait(15)
    assert [response.text for response in held] == ["bot2"]

    runtime.set_state("bot2", "maint")
    runtime.delete_server("bot2")
    assert set(runtime.servers()) == {"bot1"}


def test_a_refused_command_is_an_error(
    edge: tuple[HAProxyRuntime, str, Backend, Backend],
) -> None:
    runtime, _, bot1, _ = edge
    with pytest.raises(RuntimeApiError, match="bots/bot1"):
        runtime.add_server("bot1", bot1.address)
    with pytest.raises(RuntimeApiError, match="del server bots/bot1"):
        runtime.delete_server("bot1", timeout=1)  # in service, not in maintenance
    with pytest.raises(RuntimeApiError, match="runtime socket"):
        HAProxyRuntime(Path("/nonexistent/haproxy.sock")).servers()
