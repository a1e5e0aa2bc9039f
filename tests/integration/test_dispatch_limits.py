"""The cross-instance Autotask limits in DynamoDB (moto): 3 threads per (database, code, entity), leases that
expire, the hourly budget."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from helpdesk.adapters.dynamodb_limits import DynamoConcurrencyLimiter
from helpdesk.ports import LimiterKey, ThreadLimitExceeded, Throttled

KEY = LimiterKey("281001", "CODE", "Tickets")


def test_never_more_than_three_holders_across_limiters(aws_env: dict[str, str]) -> None:
    # Given several "instances" (limiters) sharing the table, and many concurrent requests
    limiters = [DynamoConcurrencyLimiter(aws_env["TENANTS_TABLE"], wait_timeout=20) for _ in range(4)]
    _atomic_conditional_writes(limiters)
    lock = threading.Lock()
    inside, peak, errors = [0], [0], []

    def request(limiter: DynamoConcurrencyLimiter) -> None:
        try:
            with limiter.acquire(KEY):
                with lock:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                time.sleep(0.2)
                with lock:
                    inside[0] -= 1
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=request, args=(limiters[i % 4],)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and 1 < peak[0] <= 3  # never more than 3 (how many overlap depends on load)
    assert sum(limiter.acquired for limiter in limiters) == 12


def _atomic_conditional_writes(limiters: list[DynamoConcurrencyLimiter]) -> None:
    """DynamoDB evaluates a condition and writes atomically; moto in-process does not (threads can interleave
    between its check and its write). Serialise moto's writes so the test checks our logic, not moto's."""
    lock = threading.Lock()
    for limiter in limiters:
        table = limiter._table
        original = table.update_item

        def update_item(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(*args, **kwargs)

        limiter._table = SimpleNamespace(update_item=update_item)


def test_other_entities_and_databases_have_their_own_slots(aws_env: dict[str, str]) -> None:
    limiter = DynamoConcurrencyLimiter(aws_env["TENANTS_TABLE"], wait_timeout=0.2)
    with limiter.acquire(KEY), limiter.acquire(KEY), limiter.acquire(KEY):
        with pytest.raises(ThreadLimitExceeded) as err, limiter.acquire(KEY):
            pass
        assert err.value.retry_after and err.value.retry_after >= 2
        with limiter.acquire(KEY._replace(entity="TicketNotes")), limiter.acquire(KEY._replace(database="281002")):
            pass


def test_a_crashed_holders_slot_frees_itself_when_its_lease_expires(aws_env: dict[str, str]) -> None:
    now = [1000.0]
    limiter = DynamoConcurrencyLimiter(
        aws_env["TENANTS_TABLE"],
        wait_timeout=0.5,
        lease_seconds=10,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    held = [limiter.acquire(KEY) for _ in range(3)]
    for h in held:
        h.__enter__()  # never released: the instance "died"
    with pytest.raises(ThreadLimitExceeded), limiter.acquire(KEY):
        pass
    now[0] += 11
    with limiter.acquire(KEY):
        pass


def test_hourly_budget_is_shared_and_enforced(aws_env: dict[str, str]) -> None:
    a = DynamoConcurrencyLimiter(aws_env["TENANTS_TABLE"], hourly_budget=5)
    b = DynamoConcurrencyLimiter(aws_env["TENANTS_TABLE"], hourly_budget=5)
    for limiter in (a, b, a, b, a):
        with limiter.acquire(KEY):
            pass
    with pytest.raises(Throttled) as err, b.acquire(KEY):
        pass
    assert err.value.retry_after and 0 < err.value.retry_after <= 3600 + 120


def test_a_child_request_takes_its_parents_slot_across_instances_and_gives_both_back(
    aws_env: dict[str, str],
) -> None:
    a = DynamoConcurrencyLimiter(aws_env["TENANTS_TABLE"], wait_timeout=0.2)
    b = DynamoConcurrencyLimiter(aws_env["TENANTS_TABLE"], wait_timeout=0.2)
    note = KEY._replace(entity="TicketNotes", parent="Tickets")
    with a.acquire(note), a.acquire(note), b.acquire(KEY):
        # three Tickets slots are held (two by note creates): neither a ticket nor a note request gets one
        with pytest.raises(ThreadLimitExceeded), b.acquire(KEY):
            pass
        with pytest.raises(ThreadLimitExceeded), b.acquire(note):
            pass
    with a.acquire(KEY), a.acquire(KEY), b.acquire(note):  # all were given back
        pass


def test_the_hourly_budget_is_taken_once_per_ticket(aws_env: dict[str, str]) -> None:
    limiter = DynamoConcurrencyLimiter(aws_env["TENANTS_TABLE"], hourly_budget=100, budget_chunk=3)
    counted: list[str] = []
    original = limiter._table.update_item

    def update_item(**kwargs: Any) -> Any:
        counted.append(kwargs["Key"]["sk"].split("#")[0])
        return original(**kwargs)

    limiter._table = SimpleNamespace(update_item=update_item)
    for _ in range(6):  # two warm tickets: 3 requests each
        with limiter.acquire(KEY):
            pass
    assert counted.count("BUDGET") == 2
