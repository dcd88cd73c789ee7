"""A managed child process: start, wait until ready, stop, always reap.

Every child runs in its own process group (a new session), so stopping it also stops anything it
spawned, and a Ctrl-C aimed at the test runner does not race our own orderly shutdown. Children
that must not outlive the Python process that started them (tests) additionally ask the kernel
for a parent-death signal, so a crashed or SIGKILLed pytest leaves no servers behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from devcluster.ports import LOOPBACK, is_listening

_PR_SET_PDEATHSIG = 1
_DEFAULT_READY_TIMEOUT_SECONDS = 30.0
_DEFAULT_STOP_GRACE_SECONDS = 10.0
_LOG_TAIL_LINES = 40


class ProcessStartError(RuntimeError):
    """A child exited early or did not become ready in time; the message carries its log tail."""


def _ask_kernel_for_parent_death_signal() -> None:
    # Runs in the child between fork and exec. Linux only; elsewhere the atexit hook still applies.
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def read_log_tail(log_path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log file, or a note when there is none."""
    try:
        content = log_path.read_bytes()
    except FileNotFoundError:
        return f"(no log at {log_path})"
    text = content.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """One child process with its log file under a run directory."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        die_with_parent: bool = True,
        stop_grace_seconds: float = _DEFAULT_STOP_GRACE_SECONDS,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_dir / f"{name}.log"
        self._extra_env = dict(env or {})
        self._cwd = cwd
        self._die_with_parent = die_with_parent
        self.stop_grace_seconds = stop_grace_seconds
        self._popen: subprocess.Popen[bytes] | None = None
        self.start_ticks: int | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def is_running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> ManagedProcess:
        if self._popen is not None and self._popen.poll() is None:
            raise RuntimeError(f"{self.name} was already started")
        if self._popen is not None:
            self.stop()  # the earlier run has ended: reap what it left, then start again
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        self._popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self._extra_env},
            cwd=self._cwd,
            start_new_session=True,
            preexec_fn=_ask_kernel_for_parent_death_signal if self._die_with_parent else None,
        )
        self.start_ticks = process_start_ticks(self._popen.pid)
        if self._die_with_parent:
            _live_children.add(self)
        return self

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        if self._log_file is not None:
            self._log_file.flush()
        return read_log_tail(self.log_path, lines)

    def wait_ready(
        self,
        *,
        port: int | None = None,
        host: str = LOOPBACK,
        check: Callable[[], bool] | None = None,
        timeout: float = _DEFAULT_READY_TIMEOUT_SECONDS,
    ) -> None:
        """Block until the port accepts connections and `check` returns True (both if given).

        A check that raises counts as "not ready yet"; the last error is reported on timeout.
        """
        if port is None and check is None:
            raise ValueError("wait_ready needs a port, a check, or both")
        deadline = time.monotonic() + timeout
        delay = 0.02
        last_error: BaseException | None = None
        while True:
            if not self.is_running():
                raise ProcessStartError(
                    f"{self.name} exited with code {self.returncode} before becoming ready.\n"
                    f"argv: {self.argv}\nlog tail ({self.log_path}):\n{self.log_tail()}"
                )
            ready = port is None or is_listening(host, port)
            if ready and check is not None:
                try:
                    ready = check()
                except Exception as error:  # any failure of a probe means "not yet"
                    last_error = error
                    ready = False
            if ready:
                return
            if time.monotonic() >= deadline:
                what = f"{host}:{port}" if port is not None else "its readiness check"
                raise ProcessStartError(
                    f"{self.name} did not become ready ({what}) within {timeout:.1f}s"
                    f"{f'; last probe error: {last_error!r}' if last_error else ''}.\n"
                    f"argv: {self.argv}\nlog tail ({self.log_path}):\n{self.log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def stop(self, grace_seconds: float | None = None) -> int | None:
        """SIGTERM the process group, SIGKILL it after the grace period, reap. Idempotent."""
        popen = self._popen
        if popen is None:
            return None
        grace = self.stop_grace_seconds if grace_seconds is None else grace_seconds
        try:
            if popen.poll() is None:
                _signal_group(popen.pid, signal.SIGTERM)
                try:
                    popen.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    _signal_group(popen.pid, signal.SIGKILL)
                    popen.wait()
            # The leader is gone; grandchildren it left in its group must not outlive it.
            _signal_group(popen.pid, signal.SIGKILL)
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None
            _live_children.discard(self)
        return popen.returncode

    def kill(self) -> int | None:
        """SIGKILL at once (a simulated crash, for failover tests) and reap."""
        if self._popen is None:
            return None
        _signal_group(self._popen.pid, signal.SIGKILL)
        self._popen.wait()
        return self.stop()

    def __enter__(self) -> ManagedProcess:
        return self.start() if self._popen is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid}, running={self.is_running()})"


def _signal_group(process_group_id: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process_group_id, signum)


def pid_is_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state letter follows the parenthesised command name, which may itself contain spaces.
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in {"Z", "X"}


def process_start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot): with the pid, a unique identity.

    A command line is no identity: redis-server rewrites its own, and a pid can be reused.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Field 22 overall; counted after the parenthesised command name it is index 19.
    return int(stat.rsplit(")", 1)[1].split()[19])


def is_same_process(pid: int, start_ticks: int) -> bool:
    return pid_is_alive(pid) and process_start_ticks(pid) == start_ticks


def stop_detached_group(
    pid: int,
    *,
    start_ticks: int,
    grace_seconds: float = _DEFAULT_STOP_GRACE_SECONDS,
) -> bool:
    """Stop a process group started by an earlier `devcluster up` (not our child any more).

    Only a process that is still the one we started is signalled, so a pid reused by an
    unrelated process is never touched. Returns True when it is gone.
    """
    if not is_same_process(pid, start_ticks):
        return True
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while is_same_process(pid, start_ticks) and time.monotonic() < deadline:
        time.sleep(0.1)
    if is_same_process(pid, start_ticks):
        _signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while is_same_process(pid, start_ticks) and time.monotonic() < deadline:
            time.sleep(0.05)
    return not is_same_process(pid, start_ticks)


class _LiveChildren:
    """Children that must die with this interpreter; stopped by an atexit hook as a backstop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._children: set[ManagedProcess] = set()

    def add(self, child: ManagedProcess) -> None:
        with self._lock:
            self._children.add(child)

    def discard(self, child: ManagedProcess) -> None:
        with self._lock:
            self._children.discard(child)

    def stop_all(self) -> None:
        with self._lock:
            children = list(self._children)
        for child in children:
            child.stop(grace_seconds=5.0)


_live_children = _LiveChildren()
atexit.register(_live_children.stop_all)


class SingleProcessService:
    """A launcher around one ManagedProcess: start and wait until ready (stopping it if it never
    gets there), stop, and use as a context manager. Subclasses set ``self.process`` and say how
    readiness is seen in ``wait_ready``."""

    process: ManagedProcess

    def wait_ready(self) -> None:
        raise NotImplementedError

    def before_start(self) -> None:
        """Preparation that must succeed before the process starts (a config check, a folder)."""

    def start(self) -> Self:
        self.before_start()
        self.process.start()
        try:
            self.wait_ready()
        except BaseException:
            self.process.stop()
            raise
        return self

    def stop(self) -> None:
        self.process.stop()

    def processes(self) -> list[ManagedProcess]:
        return [self.process]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
