"""The per-tenant circuit breaker's policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.dispatch.breaker import AUTH_COOLDOWN, TRANSIENT_THRESHOLD, BreakerState, TenantBreaker

from .fakes import DictBreakerStore

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def test_credential_failure_blocks_until_the_credentials_change_or_the_cooldown_ends() -> None:
    breaker = TenantBreaker(DictBreakerStore())
    state = breaker.credentials_failed("t", "fp1", "401", "friendly", now=NOW)
    assert state.blocking(NOW + timedelta(minutes=1), "fp1")
    assert not state.blocking(NOW + timedelta(minutes=1), "fp2")  # the admin saved new credentials
    assert not state.blocking(NOW + AUTH_COOLDOWN, "fp1")  # one probe after the cool-down
    assert breaker.state("t") == state


def test_transient_failures_open_after_the_threshold_with_growing_then_capped_delays() -> None:
    breaker = TenantBreaker(DictBreakerStore())
    state = BreakerState()
    lengths = []
    for _ in range(TRANSIENT_THRESHOLD + 12):
        state = breaker.transient_failed("t", state, "503", now=NOW)
        if state.mode == "transient":
            assert state.open_until is not None
            lengths.append(state.open_until - NOW)
    assert state.blocking(NOW, "any")
    assert lengths[0] == timedelta(seconds=30) and lengths[1] == timedelta(seconds=60)
    assert max(lengths) == timedelta(minutes=15)


def test_success_closes_and_forgets() -> None:
    store = DictBreakerStore()
    breaker = TenantBreaker(store)
    state = breaker.transient_failed("t", BreakerState(), "503", now=NOW)
    breaker.success("t", state)
    assert breaker.state("t") == BreakerState() and store.docs == {}
