"""Concurrency limiting: at most 3 requests in flight per (database, integration code, entity).

Autotask: "Thread limits apply to the combination of each unique API tracking identifier plus object endpoint
call ... a thread limit of three per object endpoint and tracking identifier" (research section 6, ThreadLimiting.htm).
Optionally counted conservatively (the client's `hold_parent_slots`): a request to a child collection (`Tickets/{id}/Notes`, `Tickets/{id}/Attachments`) holds
a slot of its parent entity as well as its own (`LimiterKey.parent`), so neither reading of "object endpoint"
(the child entity, or the URL's first segment) can be exceeded. `LocalConcurrencyLimiter` enforces it within
one process; the interface lets a cross-instance limiter (e.g. a
DynamoDB semaphore) replace it without touching the client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import NamedTuple, Protocol

from helpdesk.autotask.errors import ThreadLimitExceeded

AUTOTASK_THREAD_LIMIT = 3


class LimiterKey(NamedTuple):
    database: str  # zone `ci` (or the zone URL when Autotask returns no ci)
    integration_code: str
    entity: str
    parent: str | None = None  # the parent entity of a child collection: its slot is held too

    def slots(self) -> list[LimiterKey]:
        """The keys whose slots one request holds: the parent's first (one order everywhere: no deadlock)."""
        own = self._replace(parent=None)
        return [own._replace(entity=self.parent), own] if self.parent and self.parent != self.entity else [own]


class ConcurrencyLimiter(Protocol):
    def acquire(self, key: LimiterKey) -> AbstractContextManager[None]:
        """Block until a slot for `key` is free (bounded), hold it for the `with` body."""
        ...


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
