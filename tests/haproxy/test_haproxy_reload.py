"""A reload of haproxy/haproxy.cfg the way an operator does it (devcluster.edge.reload_edge)."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.haproxy.edge_harness import (
    BACKEND_NAMES,
    EchoBackend,
    Edge,
    post_update,
    update_for_chat,
)

RISE, FALL = 2, 2  # haproxy.cfg's default-server
FULL_HEALTH = RISE + FALL - 1


def _check_health(edge: Edge) -> dict[str, int]:
    """srv_check_health of each bot server (0..rise+fall-1; UP from `rise` on)."""
    lines = edge.runtime_command("show servers state bots").splitlines()
    header = next(line for line in lines if line.startswith("# ")).split()[1:]
    health = {}
    for line in lines:
        if line and not line.startswith(("#", "1")):
            row = dict(zip(header, line.split(), strict=False))
            health[row["srv_name"]] = int(row["srv_check_health"])
    return health


def _times_gone_down(edge: Edge) -> dict[str, int]:
    """`chkdown` of each bot server: UP to DOWN transitions since this worker started."""
    header: list[str] = []
    downs = {}
    for line in edge.runtime_command("show stat").splitlines():
        if line.startswith("# "):
            header = line[2:].split(",")
        elif line:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "bots" and row.get("svname") in BACKEND_NAMES:
                downs[row["svname"]] = int(row["chkdown"] or 0)
    return downs


def _wait(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_one_failed_check_right_after_a_reload_takes_no_server_out(
    start_edge: Callable[..., Edge], backends: list[EchoBackend]
) -> None:
    # Checks 3 s apart: a new worker checks its first server at once and the others later in
    # the interval, while the old worker's next check of it is seconds away. So the failure
    # armed just before the reload meets the new worker's first check.
    edge = start_edge(reloadable=True, CHECK_INTERVAL="3s")
    _wait(
        lambda: set(_check_health(edge).values()) == {FULL_HEALTH},
        "the servers never reached full health",
    )
    for backend in backends:
        backend.failing_checks = 1
    edge.reload()
    _wait(
        lambda: all(backend.failing_checks == 0 for backend in backends),
        "the new worker did not check every server",
    )
    # The worker started from the saved states (health 3): one failure leaves a server UP,
    # where a worker starting without them (health 2) takes it DOWN at once.
    assert _times_gone_down(edge) == dict.fromkeys(BACKEND_NAMES, 0)
    assert all(state.startswith("UP") for state in edge.server_states().values())
    with edge.client() as client:
        statuses = {
            post_update(client, edge, update_for_chat(chat)).status_code
            for chat in range(4_000_001, 4_000_031)
        }
    assert statuses == {200}


def test_a_reload_saves_every_server_state_and_starts_a_new_worker(
    start_edge: Callable[..., Edge],
) -> None:
    edge = start_edge(reloadable=True)
    before = edge.runtime_command("show info")
    edge.reload()
    after = edge.runtime_command("show info")
    pid_line = next(line for line in after.splitlines() if line.startswith("Pid:"))
    assert pid_line not in before
    assert edge.server_state_file is not None
    saved = edge.server_state_file.read_text()
    assert all(f" {name} " in saved for name in BACKEND_NAMES)
