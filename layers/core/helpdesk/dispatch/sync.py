"""Use case: after a callout or webhook, re-read one Autotask ticket and append what changed to its timeline.

Runs in the dispatcher (every Autotask call happens there). For a SyncWork(tenant, ticket):
1. The submission whose ticket it is (`find_by_ticket`); tickets that did not come from a button press: no-op.
2. The tenant's circuit breaker: credentials broken -> drop (nothing to tell the user); transient -> later.
3. The sync baseline (`SyncState`, first time: the ticket as created with the tenant's default status). Events a
   crashed run decided but may not have appended (`pending`) are appended first (idempotent event ids).
4. Autotask: the ticket (status -> label via the cached picklists, title, assigned resource, last activity) and
   the notes newer than the last one seen, published to all users only ("publish = 1"). Our own internal note
   and notes the contact wrote themselves are not news for the user (baseline only).
5. `diff()` -> events (status changed, new reply, completed); the new baseline is saved with them as `pending`
   (optimistic lock: a concurrent sync of the same ticket makes this one retry against the new baseline, so an
   event is never decided twice), then they are appended and `pending` is cleared.
About 2 Autotask requests per sync (+1 per unknown resource name, cached an hour).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from enum import StrEnum

from helpdesk.autotask import errors as at_errors
from helpdesk.autotask.cache import TTLCache
from helpdesk.domain.ports import ConflictError, SyncStateStore
from helpdesk.domain.submission import Submission, TimelineEvent
from helpdesk.domain.sync import Reply, SyncState, TicketSnapshot, diff, initial_state
from helpdesk.domain.tenant import Tenant
from helpdesk.domain.ticket import note_title
from helpdesk.domain.work import SyncWork
from helpdesk.ports import AutotaskPort, TenantNotConfigured

from .breaker import credentials_fingerprint
from .create_ticket import (
    AUTOTASK_THROTTLED,
    AUTOTASK_UNAVAILABLE,
    CREDENTIALS_REJECTED,
    MSG_UNAVAILABLE,
    PERMANENT_CREDENTIALS,
    DispatchDeps,
    RetryLater,
)

MAX_NOTES_PER_SYNC = 50


class SyncOutcome(StrEnum):
    SYNCED = "synced"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


@dataclass
class SyncTicket:
    deps: DispatchDeps
    states: SyncStateStore
    resource_names: TTLCache[tuple[str, int], str] = field(default_factory=lambda: TTLCache(ttl=3600))

    def __call__(self, work: SyncWork, *, attempt: int = 1) -> SyncOutcome:
        d = self.deps
        sub = d.submissions.find_by_ticket(work.tenant_id, work.ticket_id)
        if sub is None:
            d.log("sync: not a ticket from a button press; nothing to do", {"ticket_id": work.ticket_id})
            return SyncOutcome.SKIPPED
        tenant = d.tenants.get(work.tenant_id)
        if tenant is None or not tenant.active:
            return SyncOutcome.SKIPPED
        now = d.now()
        fingerprint = credentials_fingerprint(
            tenant.autotask.api_key_ciphertext, tenant.autotask.host, tenant.autotask.integration_code or ""
        )
        breaker = d.breaker.state(tenant.tenant_id)
        if breaker.blocking(now, fingerprint):
            if breaker.mode == "credentials":
                d.log("sync: the tenant's Autotask credentials are failing; dropped", {"ticket_id": work.ticket_id})
                return SyncOutcome.SKIPPED
            assert breaker.open_until is not None
            raise RetryLater("the tenant's circuit breaker is open", (breaker.open_until - now).total_seconds() + 1)

        state = self.states.get(sub.tenant_id, sub.submission_id) or initial_state(
            work.ticket_id, tenant.defaults.ticketStatus
        )
        state = self._flush(sub, state)

        client: AutotaskPort | None = None
        before = 0
        try:
            client = d.clients.for_tenant(tenant)
            before = client.stats.total
            snapshot, replies = self._read(client, tenant, sub, work.ticket_id, state)
        except TenantNotConfigured:
            return SyncOutcome.SKIPPED
        except at_errors.AutotaskError as exc:
            if exc.retryable:
                d.breaker.transient_failed(tenant.tenant_id, breaker, str(exc))
                throttled = isinstance(exc, at_errors.Throttled)
                d.tenant_metric(AUTOTASK_THROTTLED if throttled else AUTOTASK_UNAVAILABLE, tenant.tenant_id, 1)
                raise RetryLater(f"sync: {exc}", exc.retry_after) from None
            if isinstance(exc, PERMANENT_CREDENTIALS):  # like ticket creation: the tenant's work fails fast
                d.breaker.credentials_failed(tenant.tenant_id, fingerprint, str(exc), MSG_UNAVAILABLE)
                d.tenant_metric(CREDENTIALS_REJECTED, tenant.tenant_id, 1)
            d.log(
                "sync: Autotask refused the re-read; dropped", {"error": type(exc).__name__, "reason": str(exc)[:300]}
            )
            return SyncOutcome.SKIPPED
        finally:
            if client is not None:
                spent = client.stats.total - before
                if spent > 0:
                    d.metric("AutotaskRequests", spent)
                    d.metric("AutotaskRequestsPerSync", spent)
        d.breaker.success(tenant.tenant_id, breaker)
        if snapshot is None:
            return SyncOutcome.SKIPPED  # deleted in Autotask (or no longer visible to the API user)

        result = diff(state, snapshot, replies, now=d.now())
        assert result.state is not None
        try:
            saved = self.states.save(sub.tenant_id, sub.submission_id, result.state)
        except ConflictError:
            raise RetryLater("sync: another sync of this ticket saved first", 2) from None
        self._flush(sub, saved)
        if result.events:
            d.metric("SyncEvents", len(result.events))
        return SyncOutcome.SYNCED if result.events else SyncOutcome.UNCHANGED

    # ------------------------------------------------------------------------------------------ steps
    def _flush(self, sub: Submission, state: SyncState) -> SyncState:
        """Append the events a previous save decided (re-stamped now: the feed reads by record time)."""
        if not state.pending:
            return state
        now = self.deps.now()
        for event in state.pending:
            self.deps.submissions.append_event(sub.tenant_id, sub.submission_id, event.model_copy(update={"at": now}))
        with contextlib.suppress(ConflictError):  # someone else flushed: appends are idempotent anyway
            return self.states.save(sub.tenant_id, sub.submission_id, state.model_copy(update={"pending": []}))
        fresh = self.states.get(sub.tenant_id, sub.submission_id)
        if fresh is None or fresh.pending:
            raise RetryLater("sync: the baseline changed while flushing", 2)
        return fresh

    def _read(
        self, client: AutotaskPort, tenant: Tenant, sub: Submission, ticket_id: int, state: SyncState
    ) -> tuple[TicketSnapshot | None, list[Reply]]:
        ticket = client.get_ticket(ticket_id)
        if ticket is None:
            return None, []
        label = None
        if ticket.status is not None:
            label = client.ticket_picklists().label("status", ticket.status)
        notes = client.list_ticket_notes(ticket_id, since_id=state.last_note_id or None, published_only=True)
        own_title = note_title(sub.submission_id)
        contact_id = sub.resolved.contact_id
        replies = []
        for note in notes[:MAX_NOTES_PER_SYNC]:
            skip = (note.title or "") == own_title or (
                contact_id is not None and note.created_by_contact_id == contact_id
            )
            actor = None if skip else self._resource_name(client, tenant, note.creator_resource_id)
            replies.append(
                Reply(
                    note_id=note.id,
                    title=note.title or "",
                    text=note.description or "",
                    actor=actor,
                    created_at=note.create_date_time,
                    skip=skip,
                )
            )
        snapshot = TicketSnapshot(
            ticket_id=ticket.id,
            ticket_number=ticket.ticket_number or sub.ticket_number,
            title=ticket.title,
            status=ticket.status,
            status_label=label,
            assigned_resource_id=ticket.assigned_resource_id,
            assigned_resource_name=self._resource_name(client, tenant, ticket.assigned_resource_id),
            last_activity=ticket.last_activity_date,
            completed_date=ticket.completed_date,
        )
        return snapshot, replies

    def _resource_name(self, client: AutotaskPort, tenant: Tenant, resource_id: int | None) -> str | None:
        """`Resources/{id}` first + last name, cached; None when unknown or not readable (a fallback is used)."""
        if not resource_id:
            return None
        key = (tenant.tenant_id, int(resource_id))
        hit = self.resource_names.get(key)
        if hit is not None:
            return hit or None
        try:
            resource = client.get_resource(int(resource_id))
        except at_errors.AutotaskError as exc:
            if exc.retryable:
                raise
            resource = None
        name = resource.full_name if resource is not None else ""
        self.resource_names.put(key, name[:100])
        return name[:100] or None


__all__ = ["SyncOutcome", "SyncTicket", "TimelineEvent"]
