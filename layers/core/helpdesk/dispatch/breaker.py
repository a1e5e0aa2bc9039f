"""Per-tenant circuit breaker: a tenant whose Autotask keeps failing must not use other tenants' capacity.

State lives in DynamoDB (every dispatcher instance sees it); the policy is here:
- Authentication / permission failures open the breaker at once ("credentials" mode) for `AUTH_COOLDOWN`.
  While open, that tenant's submissions fail fast with the same reason, without a single Autotask call. The
  breaker closes by itself when the tenant's credentials change (the admin fixed them) or after the cool-down
  (one probe goes through; another auth failure re-opens it).
- Outage-like failures (5xx, timeouts, connection errors in a run during which Autotask answered nothing
  successfully) count up; `TRANSIENT_THRESHOLD` in a row open it ("transient" mode) for an exponentially
  growing, capped time. While open, work items of that tenant are put back on the queue until the breaker's
  end, again without Autotask calls. Throttles do not count: Autotask is up and its Retry-After is honoured.
- A success closes it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.domain.ports import BreakerStore

AUTH_COOLDOWN = timedelta(minutes=15)
TRANSIENT_THRESHOLD = 5
TRANSIENT_BASE = timedelta(seconds=30)
TRANSIENT_CAP = timedelta(minutes=15)


def credentials_fingerprint(ciphertext: str | None, host: str | None, integration_code_ciphertext: str = "") -> str:
    """Changes whenever the admin saves other credentials (the ciphertext changes with every seal)."""
    return hashlib.sha256(f"{ciphertext}|{host}|{integration_code_ciphertext}".encode()).hexdigest()[:16]


class BreakerState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["closed", "credentials", "transient"] = "closed"
    failures: int = Field(default=0, ge=0)
    open_until: datetime | None = None
    reason: str = ""
    user_message: str = ""
    credentials: str = Field(default="", description="credentials_fingerprint() when it opened")

    def blocking(self, now: datetime, credentials: str) -> bool:
        if self.mode == "closed" or self.open_until is None or now >= self.open_until:
            return False
        return not (self.mode == "credentials" and credentials != self.credentials)


class TenantBreaker:
    def __init__(self, store: BreakerStore) -> None:
        self._store = store

    def state(self, tenant_id: str) -> BreakerState:
        doc = self._store.get(tenant_id)
        return BreakerState.model_validate_json(doc) if doc else BreakerState()

    def _save(self, tenant_id: str, state: BreakerState) -> None:
        until = state.open_until or datetime.now(UTC)
        self._store.put(tenant_id, state.model_dump_json(), int((until + timedelta(days=1)).timestamp()))

    def success(self, tenant_id: str, state: BreakerState) -> None:
        if state.mode != "closed" or state.failures:
            self._store.delete(tenant_id)

    def credentials_failed(
        self, tenant_id: str, credentials: str, reason: str, user_message: str, now: datetime | None = None
    ) -> BreakerState:
        now = now or datetime.now(UTC)
        state = BreakerState(
            mode="credentials",
            failures=1,
            open_until=now + AUTH_COOLDOWN,
            reason=reason[:500],
            user_message=user_message[:300],
            credentials=credentials,
        )
        self._save(tenant_id, state)
        return state

    def transient_failed(
        self, tenant_id: str, state: BreakerState, reason: str, now: datetime | None = None
    ) -> BreakerState:
        now = now or datetime.now(UTC)
        failures = state.failures + 1
        new = state.model_copy(update={"failures": failures, "reason": reason[:500]})
        if failures >= TRANSIENT_THRESHOLD:
            exponent = min(failures - TRANSIENT_THRESHOLD, 10)
            length = min(TRANSIENT_CAP, TRANSIENT_BASE * (2**exponent))
            new = new.model_copy(update={"mode": "transient", "open_until": now + length})
        elif new.mode == "credentials":
            new = new.model_copy(update={"mode": "closed", "open_until": None})
        self._save(tenant_id, new)
        return new
