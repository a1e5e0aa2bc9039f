"""Retry timing for failed work items: exponential backoff with full jitter, honouring Retry-After."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

# SQS allows a visibility timeout of at most 12 hours.
MAX_VISIBILITY_SECONDS = 43_200


def backoff_seconds(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> int:
    """Delay before the next attempt of a work item that failed on its `attempt`-th receive (1-based).

    Full jitter (uniform in [0, min(cap, base * 2**(attempt-1))]) spreads retries of many failed items, so
    a recovering Autotask tenant is not hit by all of them at once. A server-sent Retry-After is a floor.
    """
    attempt = max(1, attempt)
    ceiling = min(cap, base * math.pow(2, min(attempt - 1, 30)))
    delay = rand() * ceiling
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap) if cap > 0 else retry_after)
    return int(min(MAX_VISIBILITY_SECONDS, max(0, math.ceil(delay))))
