"""Concurrency limiting: at most 3 requests in flight per (database, integration code, entity).

Autotask: "Thread limits apply to the combination of each unique API tracking identifier plus object endpoint
call ... a thread limit of three per object endpoint and tracking identifier" (research section 6, ThreadLimiting.htm).
Optionally counted conservatively (the client's `hold_parent_slots`): a request to a child collection (`Tickets/{id}/Notes`, `Tickets/{id}/Attachments`) holds
a slot of its parent entity as well as its own (`LimiterKey.parent`), so neither reading of "object endpoint"
(the child entity, or the URL's first segment) can be exceeded. `LocalConcurrencyLimiter` enforces it within
one process; the contract (`ConcurrencyLimiter`, `LimiterKey`, `AUTOTASK_THREAD_LIMIT` and the errors it raises)
is in helpdesk.ports, so a cross-instance limiter (adapters/dynamodb_limits.py) replaces it without touching
the client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from helpdesk.ports import AUTOTASK_THREAD_LIMIT, LimiterKey, ThreadLimitExceeded


class LocalConcurrencyLimiter:
    """Per-process semaphores. `overrides` sets other limits per entity (ThresholdInformation polls use 1)."""

    def __init__(
        self,
        limit: int = AUTOTASK_THREAD_LIMIT,
        *,
        overrides: dict[str, int] | None = None,
        wait_timeout: float = 30.0,
    ) -> None:
        self.limit = limit
        self.overrides = dict(overrides or {})
        self.wait_timeout = wait_timeout
        self._lock = threading.Lock()
        self._sems: dict[LimiterKey, threading.BoundedSemaphore] = {}

    def _sem(self, key: LimiterKey) -> threading.BoundedSemaphore:
        with self._lock:
            sem = self._sems.get(key)
            if sem is None:
                sem = threading.BoundedSemaphore(self.overrides.get(key.entity, self.limit))
                self._sems[key] = sem
            return sem

    @contextmanager
    def _hold(self, key: LimiterKey) -> Iterator[None]:
        held: list[threading.BoundedSemaphore] = []
        try:
            for slot in key.slots():
                sem = self._sem(slot)
                if not sem.acquire(timeout=self.wait_timeout):
                    raise ThreadLimitExceeded(
                        f"waited {self.wait_timeout:.0f}s for a free Autotask thread for {slot.entity}", retry_after=5.0
                    )
                held.append(sem)
            yield
        finally:
            for sem in reversed(held):
                sem.release()

    def acquire(self, key: LimiterKey) -> AbstractContextManager[None]:
        return self._hold(key)


class NullLimiter:
    """No limiting (for tests that want to provoke Autotask's own thread-limit errors)."""

    @contextmanager
    def _noop(self) -> Iterator[None]:
        yield

    def acquire(self, key: LimiterKey) -> AbstractContextManager[None]:
        return self._noop()


# Shared by every client in the process, so several clients of one tenant still hold at most 3 threads.
default_limiter = LocalConcurrencyLimiter(overrides={"ThresholdInformation": 1})
