"""Free TCP port allocation on the loopback interface.

Tests and local clusters run side by side, so nothing may use a fixed port. The kernel picks a
free port when we bind port 0; all sockets of one request stay open until every port is chosen,
so one call never returns the same port twice.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack

LOOPBACK = "127.0.0.1"

# Redis Cluster's bus port defaults to port + 10000; we set `cluster-port` explicitly, but keep
# allocated ports below this bound anyway so a default-configured tool can never overflow 65535.
_HIGHEST_USABLE_PORT = 55535
_MAX_ATTEMPTS_PER_PORT = 50


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return `count` distinct TCP ports that were free on `host` at the time of the call."""
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    ports: list[int] = []
    with ExitStack() as open_sockets:
        attempts = 0
        while len(ports) < count:
            attempts += 1
            if attempts > count * _MAX_ATTEMPTS_PER_PORT:
                raise RuntimeError(f"could not find {count} free ports on {host}")
            sock = open_sockets.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
            if port <= _HIGHEST_USABLE_PORT:
                ports.append(port)
    return ports


def free_port(host: str = LOOPBACK) -> int:
    """Return one TCP port that was free on `host` at the time of the call."""
    return free_ports(1, host)[0]


def is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
