"""Free TCP port allocation on the loopback interface.

Tests and local clusters run side by side (two pytest-xdist workers, a bench, a demo), so
nothing may use a fixed port. A port is chosen at random *below the kernel's ephemeral range*
(``net.ipv4.ip_local_port_range``, 32768-60999 by default) and checked free by binding it: a
port the kernel hands out for binding port 0 comes from that range, which is also where every
outgoing connection takes its local port, so in the seconds between choosing a port and the
server binding it (a whole cluster starting) a busy machine's client connections could take it
(seen in CI: Prometheus, started last, found its port in use; a Redis node its bus port,
port + 10000). So ports are chosen where both lie below the range: there only another chooser
can collide, at random over some twelve thousand ports, and one process never hands out the
same port twice.
"""

from __future__ import annotations

import random
import socket
from contextlib import ExitStack
from pathlib import Path

LOOPBACK = "127.0.0.1"

# Redis Cluster's bus port defaults to port + 10000; we set `cluster-port` explicitly, but keep
# allocated ports below this bound anyway so a default-configured tool can never overflow 65535.
_HIGHEST_USABLE_PORT = 55535
_LOWEST_CHOSEN_PORT = 10000
# A Redis Cluster node configured the default way (redis-cluster/redis.conf) listens on port +
# 10000 for its cluster bus: that port must be out of the ephemeral range too.
_REDIS_BUS_OFFSET = 10000
_MAX_ATTEMPTS_PER_PORT = 50
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_random = random.SystemRandom()
_handed_out: set[int] = set()


def _chosen_range() -> range | None:
    """Ports that lie, with their Redis bus port (port + 10000), below the ephemeral range; None
    when that leaves too few of them."""
    try:
        ephemeral_low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    highest = ephemeral_low - _REDIS_BUS_OFFSET
    if highest - _LOWEST_CHOSEN_PORT < 4096:
        return None
    return range(_LOWEST_CHOSEN_PORT, highest)


def _is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return `count` distinct TCP ports that were free on `host` at the time of the call."""
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    chosen = _chosen_range()
    if chosen is None:
        return _kernel_chosen_ports(count, host)
    ports: list[int] = []
    for _ in range(count * _MAX_ATTEMPTS_PER_PORT):
        if len(ports) == count:
            break
        port = _random.choice(chosen)
        if port in _handed_out or not _is_free(host, port):
            continue
        _handed_out.add(port)
        ports.append(port)
    if len(ports) < count:
        raise RuntimeError(f"could not find {count} free ports on {host}")
    return ports


def _kernel_chosen_ports(count: int, host: str) -> list[int]:
    """The kernel's choice (binding port 0), all sockets open until every port is chosen."""
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
            if port <= _HIGHEST_USABLE_PORT and port not in _handed_out:
                _handed_out.add(port)
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
