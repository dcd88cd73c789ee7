"""The local alert sink is ready only when it is the one answering on its port: a port another
process took between planning and start fails `up` with the sink's own error, instead of an
`up` that reports success while alerts go to a stranger."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from devcluster.alert_sink import ALERTS_PATH, AlertSinkServer
from devcluster.ports import LOOPBACK, free_port
from devcluster.process import ProcessStartError


def test_the_sink_starts_and_keeps_what_alertmanager_posts(tmp_path: Path) -> None:
    sink = AlertSinkServer(tmp_path, port=free_port(), output=tmp_path / "alerts.jsonl")
    sink.start()
    try:
        posted = httpx.post(sink.webhook_url, json={"status": "firing", "alerts": []}, timeout=5)
        assert posted.status_code == 200
        assert sink.received() == [{"status": "firing", "alerts": []}]
        assert sink.webhook_url.endswith(ALERTS_PATH)
    finally:
        sink.stop()


def test_a_port_taken_by_another_process_fails_the_start(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as stranger:
        stranger.bind((LOOPBACK, 0))
        stranger.listen()
        port = stranger.getsockname()[1]
        sink = AlertSinkServer(tmp_path, port=port, output=tmp_path / "alerts.jsonl")
        with pytest.raises(ProcessStartError, match="alert-sink"):
            sink.start()
        sink.stop()
