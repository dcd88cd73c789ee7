"""A webhook receiver for Alertmanager in the local cluster: appends each notification to a file.

Production routes alerts to a Telegram chat; locally they land in `alerts.jsonl` in the run
directory, where people and tests can read what Alertmanager actually sent.
Run: `python -m devcluster.alert_sink --port P --output FILE`.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from devcluster.ports import LOOPBACK
from devcluster.process import ManagedProcess

_MAX_BODY_BYTES = 1 << 20
ALERTS_PATH = "/alerts"


def _handler_for(output: Path) -> type[BaseHTTPRequestHandler]:
    write_lock = threading.Lock()

    class AlertWebhookHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.path != ALERTS_PATH or not 0 < length <= _MAX_BODY_BYTES:
                self.send_error(404 if self.path != ALERTS_PATH else 400)
                return
            try:
                notification = json.loads(self.rfile.read(length))
            except ValueError:
                self.send_error(400, "body is not JSON")
                return
            with write_lock, output.open("a", encoding="utf-8") as sink:
                sink.write(json.dumps(notification, ensure_ascii=False) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            # Readiness and a quick look: how many notifications arrived so far.
            count = len(output.read_text().splitlines()) if output.exists() else 0
            # The output names this sink: readiness tells it from another process on the port.
            body = json.dumps({"notifications": count, "output": str(output)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write(f"alert-sink: {format % args}\n")

    return AlertWebhookHandler


def serve(port: int, output: Path, host: str = LOOPBACK) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer((host, port), _handler_for(output))
    try:
        server.serve_forever()
    finally:
        server.server_close()


class AlertSinkServer:
    """The sink as a child process."""

    def __init__(
        self, run_dir: Path, *, port: int, output: Path, die_with_parent: bool = True
    ) -> None:
        self.port = port
        self.output = output
        self.process = ManagedProcess(
            "alert-sink",
            [
                sys.executable,
                *("-m", "devcluster.alert_sink"),
                *("--port", str(port)),
                *("--output", str(output)),
            ],
            log_dir=run_dir,
            die_with_parent=die_with_parent,
        )

    @property
    def webhook_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{ALERTS_PATH}"

    def received(self) -> list[dict[str, object]]:
        if not self.output.exists():
            return []
        return [json.loads(line) for line in self.output.read_text().splitlines() if line]

    def is_ours(self) -> bool:
        """Answered by this sink, not by another process that holds the port (the sink then
        fails to bind and exits, which wait_ready reports)."""
        url = f"http://{LOOPBACK}:{self.port}/"
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(json.load(response).get("output") == str(self.output))

    def start(self) -> AlertSinkServer:
        self.process.start()
        self.process.wait_ready(port=self.port, check=self.is_ours, timeout=20)
        return self

    def stop(self) -> None:
        self.process.stop()

    def processes(self) -> list[ManagedProcess]:
        return [self.process]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devcluster.alert_sink")
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    serve(args.port, args.output, args.host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
