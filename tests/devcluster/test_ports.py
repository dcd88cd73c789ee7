import socket
from pathlib import Path

import pytest

from devcluster.ports import free_port, free_ports, is_listening


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(20)
    assert len(set(ports)) == 20
    sockets = []
    try:
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind(("127.0.0.1", port))
    finally:
        for sock in sockets:
            sock.close()


def test_is_listening_tells_open_from_closed_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert is_listening("127.0.0.1", port)
    assert not is_listening("127.0.0.1", free_port())


def test_ports_are_chosen_below_the_kernels_ephemeral_range_and_never_twice() -> None:
    # Outgoing connections take their local ports from the ephemeral range: a port chosen there
    # could be taken by one before its server binds it.
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    handed = free_ports(30) + [free_port() for _ in range(30)]
    assert all(port + 10000 < low for port in handed), handed  # and a Redis bus port
    assert len(set(handed)) == len(handed)


def test_a_port_someone_else_holds_is_not_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    from devcluster import ports

    def unused_port_from(start: int) -> int:
        for port in range(start, start + 1000):
            if port not in ports._handed_out and ports._is_free("127.0.0.1", port):
                return port
        raise AssertionError("no free port to test with")

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        taken = unused_port_from(15000)
        other.bind(("127.0.0.1", taken))  # another program's server, not one we handed out
        spare = unused_port_from(taken + 1)
        candidates = iter([taken, spare])
        monkeypatch.setattr(ports._random, "choice", lambda _range: next(candidates))
        assert free_ports(1) == [spare]
