"""A small thread-safe TTL cache (zone per API user, picklists per tenant)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, ttl: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            expires, value = hit
            if self._clock() >= expires:
                del self._data[key]
                return None
            return value

    def put(self, key: K, value: V, *, ttl: float | None = None) -> None:
        """Store `value`; `ttl` (seconds) overrides the cache's for this entry (e.g. shorter for a miss)."""
        with self._lock:
            if len(self._data) >= self.max_entries and key not in self._data:
                now = self._clock()
                for k in [k for k, (exp, _) in self._data.items() if exp <= now]:
                    del self._data[k]
                while len(self._data) >= self.max_entries:
                    del self._data[next(iter(self._data))]
            self._data[key] = (self._clock() + (self.ttl if ttl is None else min(ttl, self.ttl)), value)

    def invalidate(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
