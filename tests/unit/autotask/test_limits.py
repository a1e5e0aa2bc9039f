from __future__ import annotations

import threading
import time

import pytest

from helpdesk.autotask.cache import TTLCache
from helpdesk.autotask.client import AttachmentBudget
from helpdesk.autotask.errors import AttachmentQuotaExceeded, ThreadLimitExceeded
from helpdesk.autotask.limiter import LocalConcurrencyLimiter
from helpdesk.ports import LimiterKey


def test_limiter_allows_three_per_key_and_keys_are_independent() -> None:
    limiter = LocalConcurrencyLimiter(wait_timeout=0.05)
    key = LimiterKey("db", "CODE", "Tickets")
    held = [limiter.acquire(key) for _ in range(3)]
    for cm in held:
        cm.__enter__()
    with pytest.raises(ThreadLimitExceeded), limiter.acquire(key):  # a 4th waits, then gives up
        pass
    with limiter.acquire(LimiterKey("db", "CODE", "Contacts")):  # other entity: free
        pass
    with limiter.acquire(LimiterKey("db2", "CODE", "Tickets")):  # other database: free
        pass
    for cm in held:
        cm.__exit__(None, None, None)
    with limiter.acquire(key):
        pass


def test_limiter_keeps_at_most_three_in_flight_under_ten_threads() -> None:
    limiter = LocalConcurrencyLimiter()
    key = LimiterKey("db", "CODE", "Tickets")
    lock = threading.Lock()
    inflight = peak = 0

    def work() -> None:
        nonlocal inflight, peak
        for _ in range(5):
            with limiter.acquire(key):
                with lock:
                    inflight += 1
                    peak = max(peak, inflight)
                time.sleep(0.005)
                with lock:
                    inflight -= 1

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak == 3


def test_threshold_polls_use_one_slot() -> None:
    limiter = LocalConcurrencyLimiter(overrides={"ThresholdInformation": 1}, wait_timeout=0.05)
    key = LimiterKey("db", "CODE", "ThresholdInformation")
    with limiter.acquire(key), pytest.raises(ThreadLimitExceeded), limiter.acquire(key):
        pass


def test_attachment_budget_is_ten_million_bytes_per_five_minutes_per_database() -> None:
    now = [1000.0]
    budget = AttachmentBudget(clock=lambda: now[0])
    budget.reserve("db", 6_000_000)
    budget.reserve("db", 4_000_000)
    budget.reserve("other", 9_000_000)
    with pytest.raises(AttachmentQuotaExceeded) as exc:
        budget.reserve("db", 1)
    assert exc.value.retryable
    assert exc.value.retry_after == pytest.approx(300.0)
    now[0] += 300.0
    budget.reserve("db", 10_000_000)


def test_ttl_cache_expires_and_invalidates() -> None:
    now = [0.0]
    cache: TTLCache[str, int] = TTLCache(ttl=10, clock=lambda: now[0], max_entries=2)
    cache.put("a", 1)
    assert cache.get("a") == 1
    now[0] = 10.0
    assert cache.get("a") is None
    cache.put("a", 1)
    cache.invalidate("a")
    assert cache.get("a") is None
    for k in "xyz":
        cache.put(k, 0)
    assert sum(cache.get(k) is not None for k in "xyz") == 2


def test_a_child_collection_request_holds_a_slot_of_its_parent_entity_too() -> None:
    # Conservative reading of "object endpoint": Tickets/{id}/Notes counts against TicketNotes AND Tickets.
    limiter = LocalConcurrencyLimiter(wait_timeout=0.05)
    tickets = LimiterKey("db", "code", "Tickets")
    note = LimiterKey("db", "code", "TicketNotes", parent="Tickets")
    with limiter.acquire(note), limiter.acquire(note), limiter.acquire(note):
        _refused(limiter, tickets)
    with limiter.acquire(tickets), limiter.acquire(tickets), limiter.acquire(note):
        _refused(limiter, note)
    # every slot is back after the failed attempts
    with limiter.acquire(tickets), limiter.acquire(tickets), limiter.acquire(tickets):
        pass


def test_the_client_names_the_parent_of_child_collection_paths() -> None:
    from helpdesk.autotask.client import _parent_entity

    assert _parent_entity("Tickets/42/Notes") == "Tickets"
    assert _parent_entity("Tickets/42/Attachments") == "Tickets"
    assert _parent_entity("Tickets") is None
    assert _parent_entity("Tickets/42") is None
    assert _parent_entity("Tickets/entityInformation/fields") is None


def _refused(limiter: LocalConcurrencyLimiter, key: LimiterKey) -> None:
    with pytest.raises(ThreadLimitExceeded), limiter.acquire(key):
        pass
