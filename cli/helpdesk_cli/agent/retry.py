"""Retry policy of the agent: exponential backoff with jitter, Retry-After honoured, bounded total time.

Pure timing logic; the clock, the sleeper and the randomness are injected so unit tests never sleep.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Statuses worth another try with the same request: the server (or a proxy in front of it) may recover.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry one logical request.

    attempt n (1-based) failed -> wait uniform(base*2**(n-1)/2, base*2**(n-1)) capped at `cap`
    ("equal jitter": never zero, never all clients in lockstep). A server Retry-After is a floor.
    Give up after `max_attempts` attempts or when the next attempt would start after `max_elapsed`
    seconds from the first one (a Retry-After beyond that budget means: give up now, say why).
    """

    base: float = 0.5
    cap: float = 8.0
    max_attempts: int = 8
    max_elapsed: float = 30.0

    def delay(self, attempt: int, *, retry_after: float | None = None, rand: float = 1.0) -> float:
        ceiling: float = min(self.cap, self.base * float(2 ** min(max(attempt, 1) - 1, 30)))
        delay = ceiling / 2 + (ceiling / 2) * min(max(rand, 0.0), 1.0)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def next_delay(
        self, attempt: int, elapsed: float, *, retry_after: float | None = None, rand: float = 1.0
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        if attempt >= self.max_attempts:
            return None
        delay = self.delay(attempt, retry_after=retry_after, rand=rand)
        if elapsed + delay > self.max_elapsed:
            return None
        return delay


def parse_retry_after(value: str | None, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


@dataclass
class Timing:
    """The clock, the sleeper and the randomness; tests pass a fake that records the sleeps."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = field(default=random.random)
