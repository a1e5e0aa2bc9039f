"""Hard limits for rule evaluations: each one runs in a child process forked from the warm `rules` function.

The engine's own checks (steps, clock, size estimates; runtime.py) run *between* Python operations and give
precise messages with a line number. They cannot interrupt one long C-level call (``sorted`` over a huge list,
``==`` over deeply shared structures, big-integer arithmetic), and their memory charges are estimates. The
limits here hold for any code the compiler accepts, because they are enforced from outside the evaluating code:

* **wall clock** - the parent waits for the answer until a deadline, then ``SIGKILL``s the child;
* **memory** - the child runs under ``RLIMIT_AS`` = its size at fork + a fixed headroom, so every allocation
  past it fails (``MemoryError`` in Python, or the child dies) whatever built it;
* **crashes** - a child killed by a signal (e.g. a segmentation fault from data nested too deeply for a C
  routine) ends that evaluation only: the parent reports a stop and forks a fresh child next time;
* **result size** - the child measures the serialised answer (``run`` returns bytes); see service.py.

Workers: one child serves one tenant at a time and is reused for that tenant's next evaluations while healthy.
A different tenant, a hard stop, any limit hit, or ``max_evaluations`` retire it, and the next evaluation gets a
fresh fork of the parent, which never runs rule code itself: nothing one tenant's code left in memory (caches,
allocator state, interned values, a half-finished computation) can reach another tenant's evaluation.

Protocol: parent -> child frames are pickles (trusted direction: the parent wrote them); child -> parent frames
are opaque bytes the caller parses as data (never unpickled: the child runs hostile code). Both are
length-prefixed. The parent never relies on a timer or signal inside its own process (a stray ``SIGALRM`` would
turn a stop into an internal error).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import resource
import select
import signal
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

_HEADER: Final = struct.Struct(">I")
_PAGE: Final = os.sysconf("SC_PAGE_SIZE")
_EXIT_CRASH: Final = 70
_EXIT_MEMORY: Final = 71
_RSS_POLL_S: Final = 0.01


@dataclass(frozen=True, slots=True)
class HardLimits:
    """Limits enforced from outside the evaluating code (see the module docstring)."""

    wall_seconds: float = 1.5
    """The child is killed this long after it was handed the request (the engine's own clock check stops at 1 s
    with a line number; this is the backstop for what that check cannot interrupt)."""
    memory_mb: int = 96
    """Address space the child may add to what it had when forked (``RLIMIT_AS``)."""
    max_result_bytes: int = 2_000_000
    """Largest serialised answer (JSON) the child may send back."""
    max_evaluations: int = 1000
    """Evaluations one child serves (for one tenant) before it is replaced."""


@dataclass(frozen=True, slots=True)
class Stop:
    """The evaluation was ended from outside; ``reason`` is one of ``time``, ``memory``, ``crash``."""

    reason: str
    detail: str = ""


class _Worker:
    __slots__ = ("evaluations", "pid", "rfd", "rss_limit", "tenant", "wfd")

    def __init__(self, pid: int, rfd: int, wfd: int, tenant: str, rss_limit: int) -> None:
        self.pid, self.rfd, self.wfd, self.tenant, self.rss_limit = pid, rfd, wfd, tenant, rss_limit
        self.evaluations = 0


class ProcessSandbox:
    """Runs ``run(request) -> bytes`` in a forked child with hard limits; one evaluation at a time.

    ``run`` executes in the child. ``on_child_start`` runs once in each fresh child (before the memory limit is
    set), e.g. to clear caches inherited from the parent.
    """

    def __init__(
        self,
        run: Callable[[Any], bytes],
        limits: HardLimits = HardLimits(),
        *,
        on_child_start: Callable[[], None] | None = None,
        memory_error_answer: Callable[[Any], bytes] | None = None,
    ) -> None:
        self.limits = limits
        self._run = run
        self._on_child_start = on_child_start
        self._memory_error_answer = memory_error_answer
        self._worker: _Worker | None = None
        self._lock = threading.Lock()
        self._zombies: list[int] = []
        self.forks = 0
        self.peak_child_rss_mb = 0.0
        """Largest peak RSS of a finished evaluation process (from ``wait4``)."""
        self.parent_rss_mb_at_fork = 0.0
        self.owner_pid = os.getpid()

    # ----------------------------------------------------------------------------------------------- parent side
    def run(self, tenant: str, request: Any) -> bytes | Stop:
        with self._lock:
            self._reap()
            worker = self._worker
            if worker is not None and (worker.tenant != tenant or worker.evaluations >= self.limits.max_evaluations):
                self._retire(worker)
                worker = None
            if worker is None:
                worker = self._worker = self._fork(tenant)
            worker.evaluations += 1
            try:
                _send(worker.wfd, pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
                deadline = time.monotonic() + self.limits.wall_seconds
                if not self._await_answer(worker, deadline):
                    self._retire(worker, kill=True)
                    return Stop("memory")
                answer = _recv(worker.rfd, deadline)
            except TimeoutError:
                self._retire(worker, kill=True)
                return Stop("time")
            except (EOFError, OSError):
                return self._died(worker)
            return answer

    def _await_answer(self, worker: _Worker, deadline: float) -> bool:
        """Wait until the child answers; False if its resident memory passed the limit first (it is killed).

        The first check comes after a short wait, so an ordinary evaluation (well under a millisecond) never
        pays for one. ``RLIMIT_AS`` is the ceiling between two checks.
        """
        limit = worker.rss_limit
        wait = _RSS_POLL_S
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([worker.rfd], [], [], min(remaining, wait))
            if ready:
                return True
            if _resident_bytes(worker.pid) > limit:
                return False

    def retire(self) -> None:
        """Do not reuse the current child (e.g. after a limit was hit inside it)."""
        with self._lock:
            if self._worker is not None:
                self._retire(self._worker)

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._retire(self._worker, kill=True)
            for pid in self._zombies:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    self._wait(pid, 0)
            self._zombies.clear()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if os.getpid() == self.owner_pid:
                self.close()

    def _fork(self, tenant: str) -> _Worker:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        resident = _resident_bytes()
        self.parent_rss_mb_at_fork = max(self.parent_rss_mb_at_fork, resident / 2**20)
        gc.freeze()  # the child's collector leaves the parent's objects alone: their pages stay shared
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child (covered by the tests' results, not by coverage)
            try:
                os.close(req_w)
                os.close(resp_r)
                self._child(req_r, resp_w)
            finally:
                os._exit(_EXIT_CRASH)
        gc.unfreeze()  # here, the collector must still see everything (frozen objects are never collected)
        os.close(req_r)
        os.close(resp_w)
        self.forks += 1
        return _Worker(pid, resp_r, req_w, tenant, resident + self.limits.memory_mb * 2**20)

    def _died(self, worker: _Worker) -> Stop:
        status = self._retire(worker, kill=True, wait=True)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_MEMORY:
            return Stop("memory")
        return Stop("crash", _describe_exit(status))

    def _retire(self, worker: _Worker, *, kill: bool = False, wait: bool = False) -> int:
        if self._worker is worker:
            self._worker = None
        for fd in (worker.rfd, worker.wfd):
            with contextlib.suppress(OSError):
                os.close(fd)
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
        if wait:
            try:
                return self._wait(worker.pid, 0)[1]
            except ChildProcessError:
                return 0
        self._zombies.append(worker.pid)  # it exits on EOF (or was killed): reaped later, without waiting
        return 0

    def _wait(self, pid: int, options: int) -> tuple[int, int]:
        done, status, usage = os.wait4(pid, options)
        if done:
            self.peak_child_rss_mb = max(self.peak_child_rss_mb, usage.ru_maxrss / 1024)  # Linux: KiB
        return done, status

    def _reap(self) -> None:
        keep = []
        for pid in self._zombies:
            try:
                done, _ = self._wait(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if not done:
                keep.append(pid)
        self._zombies = keep

    # ------------------------------------------------------------------------------------------------ child side
    def _child(self, rfd: int, wfd: int) -> None:  # pragma: no cover - runs in the child
        _close_other_fds(keep=(0, 1, 2, rfd, wfd))  # e.g. other evaluation processes' pipes: they must see EOF
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.setitimer(signal.ITIMER_REAL, 0)  # no timer inherited from the parent (e.g. a test's timeout)
        if self._on_child_start is not None:
            self._on_child_start()
        size = _address_space_bytes()
        limit = size + self.limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash writes no core file (slow, and holds data)
        request: Any = None
        while True:
            try:
                frame = _recv(rfd, None)
            except (EOFError, OSError):
                os._exit(0)
            try:
                request = pickle.loads(frame)  # noqa: S301 - written by the parent, which runs no rule code
                del frame
                answer = self._run(request)
            except MemoryError:
                if self._memory_error_answer is None:
                    os._exit(_EXIT_MEMORY)
                answer = self._memory_error_answer(request)
            _send(wfd, answer)


def _close_other_fds(keep: tuple[int, ...]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _address_space_bytes() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[0]) * _PAGE


def _resident_bytes(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):  # gone: its end is reported by the read that follows
        return 0


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name
    if os.WIFEXITED(status):
        return f"exit {os.WEXITSTATUS(status)}"
    return "unknown"


# -------------------------------------------------------------------------------------------------------- frames
def _send(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read(fd: int, n: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    while n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _recv(fd: int, deadline: float | None) -> bytes:
    (n,) = _HEADER.unpack(_read(fd, _HEADER.size, deadline))
    return _read(fd, n, deadline)
