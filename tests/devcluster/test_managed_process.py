"""ManagedProcess: readiness, clear failures, group-wide stop, and no orphans if the parent dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from devcluster.ports import free_port, is_listening
from devcluster.process import ManagedProcess, ProcessStartError, pid_is_alive


def _wait_until(condition: object, timeout: float = 10.0) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_waits_for_tcp_readiness_and_stops(tmp_path: Path) -> None:
    port = free_port()
    server = ManagedProcess(
        "http",
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        log_dir=tmp_path,
    ).start()
    try:
        server.wait_ready(port=port, timeout=20)
        assert is_listening("127.0.0.1", port)
    finally:
        server.stop()
    assert not server.is_running()
    assert server.pid is not None
    assert not pid_is_alive(server.pid)
    assert not is_listening("127.0.0.1", port)


def test_early_exit_is_reported_with_log_tail(tmp_path: Path) -> None:
    crashing = ManagedProcess(
        "crasher",
        [sys.executable, "-c", "import sys; print('boom: config missing'); sys.exit(3)"],
        log_dir=tmp_path,
    ).start()
    with pytest.raises(ProcessStartError) as error:
        crashing.wait_ready(port=free_port(), timeout=20)
    assert "exited with code 3" in str(error.value)
    assert "boom: config missing" in str(error.value)
    crashing.stop()


def test_readiness_timeout_names_the_last_probe_error(tmp_path: Path) -> None:
    sleeper = ManagedProcess(
        "sleeper",
        [
            sys.executable,
            "-c",
            "print('still warming up', flush=True); import time; time.sleep(60)",
        ],
        log_dir=tmp_path,
    ).start()

    def never_ready() -> bool:
        raise ConnectionRefusedError("nobody home")

    try:
        with pytest.raises(ProcessStartError) as error:
            sleeper.wait_ready(check=never_ready, timeout=1.0)
        assert "within 1.0s" in str(error.value)
        assert "nobody home" in str(error.value)
        assert "still warming up" in str(error.value)
    finally:
        sleeper.stop()


def test_stop_escalates_to_sigkill_and_takes_grandchildren_along(tmp_path: Path) -> None:
    grandchild_pid_file = tmp_path / "grandchild.pid"
    script = textwrap.dedent(
        f"""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
        open({str(grandchild_pid_file)!r}, "w").write(str(child.pid))
        time.sleep(120)
        """
    )
    stubborn = ManagedProcess(
        "stubborn", [sys.executable, "-c", script], log_dir=tmp_path, stop_grace_seconds=0.5
    ).start()
    # The file exists as soon as it is opened, before its pid is written: wait for the pid.
    stubborn.wait_ready(
        check=lambda: grandchild_pid_file.exists() and grandchild_pid_file.read_text() != "",
        timeout=20,
    )
    grandchild_pid = int(grandchild_pid_file.read_text())
    started = time.monotonic()
    returncode = stubborn.stop()
    assert returncode == -signal.SIGKILL
    assert time.monotonic() - started < 10
    # The grandchild was reparented to init, which reaps it shortly after our SIGKILL.
    assert _wait_until(lambda: not pid_is_alive(grandchild_pid))


def test_children_die_when_the_parent_is_killed(tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    parent_script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from devcluster.process import ManagedProcess
        child = ManagedProcess("orphan-candidate", [sys.executable, "-c", "import time; time.sleep(120)"],
                               log_dir=Path({str(tmp_path)!r})).start()
        Path({str(child_pid_file)!r}).write_text(str(child.pid))
        time.sleep(120)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_script], cwd=Path(__file__).resolve().parents[2]
    )
    try:
        assert _wait_until(child_pid_file.exists, timeout=20)
        child_pid = int(child_pid_file.read_text())
        assert pid_is_alive(child_pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert _wait_until(lambda: not pid_is_alive(child_pid)), "child outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_a_stopped_or_killed_process_starts_again_and_a_running_one_does_not(
    tmp_path: Path,
) -> None:
    # The chaos tests stop a database and start the same one (its port, its files) again.
    port = free_port()
    server = ManagedProcess(
        "http",
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        log_dir=tmp_path,
    ).start()
    try:
        server.wait_ready(port=port, timeout=20)
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
        first = server.pid
        server.kill()
        server.start().wait_ready(port=port, timeout=20)
        assert server.pid != first
        server.stop()
        server.start().wait_ready(port=port, timeout=20)
        assert server.is_running()
    finally:
        server.stop()
    assert not is_listening("127.0.0.1", port)
