"""The retry/backoff policy: exponential, jittered, Retry-After as a floor, bounded in attempts and time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_cli.agent.retry import RetryPolicy, parse_retry_after


def test_delays_double_until_the_cap():
    policy = RetryPolicy(base=0.5, cap=8.0)
    assert [policy.delay(n, rand=1.0) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_jitter_keeps_each_delay_between_half_and_all_of_its_ceiling():
    policy = RetryPolicy(base=1.0, cap=8.0)
    assert policy.delay(3, rand=0.0) == 2.0
    assert policy.delay(3, rand=0.5) == 3.0
    assert policy.delay(3, rand=1.0) == 4.0


def test_retry_after_is_a_floor():
    policy = RetryPolicy(base=0.5, cap=8.0)
    assert policy.delay(1, retry_after=5.0, rand=0.0) == 5.0
    assert policy.delay(5, retry_after=1.0, rand=1.0) == 8.0


def test_gives_up_after_the_last_attempt():
    policy = RetryPolicy(max_attempts=3, max_elapsed=1000)
    assert policy.next_delay(2, elapsed=0) is not None
    assert policy.next_delay(3, elapsed=0) is None


def test_gives_up_when_the_next_attempt_would_start_after_the_time_budget():
    policy = RetryPolicy(base=1.0, cap=8.0, max_attempts=100, max_elapsed=10.0)
    assert policy.next_delay(1, elapsed=8.5, rand=1.0) == 1.0
    assert policy.next_delay(1, elapsed=9.5, rand=1.0) is None
    # a Retry-After beyond the budget means: give up now (and say so), not wait past the budget
    assert policy.next_delay(1, elapsed=0.0, retry_after=60.0) is None


@given(
    failures=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=200),
    budget=st.floats(min_value=0, max_value=120),
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=300)),
)
def test_total_waiting_never_exceeds_the_budget(failures, budget, retry_after):
    policy = RetryPolicy(max_attempts=50, max_elapsed=budget)
    elapsed, attempt = 0.0, 0
    for rand in failures:
        attempt += 1
        delay = policy.next_delay(attempt, elapsed, retry_after=retry_after, rand=rand)
        if delay is None:
            break
        assert delay > 0
        elapsed += delay
    assert elapsed <= budget
    assert attempt <= policy.max_attempts


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("Thu, 26 Nov 2026 20:00:30 GMT", 30.0),
        ("Thu, 26 Nov 2026 19:59:00 GMT", 0.0),  # in the past: retry now
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_parse_retry_after(header, expected):
    now = datetime(2026, 11, 26, 20, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=lambda: now) == expected
