"""A tenant never holds more than its share of the dispatcher's concurrency (docs/architecture.md, "Dispatch:
fairness between tenants").

The work queue is an SQS fair queue (MessageGroupId = tenant), which makes SQS *prefer* quiet tenants; this is the
hard bound on top. Each dispatcher invocation takes one lease per tenant in its batch (helpdesk.domain.ports.
TenantLeases, `slots` per tenant across every instance) and gives it back as soon as that tenant's last record of
the batch is done. A tenant whose share is fully held gets its records of this batch *deferred*: sent again as
new messages with a short, jittered delay (keeping the attempts made so far) and taken off the batch. That is
neither a failure nor an attempt: it does not count towards the retry bound, the breaker or the user's status.

Cost in AWS calls per invocation: one conditional UpdateItem per tenant to take a lease (two when the first
slot tried is busy), one to give it back; one SendMessageBatch per ten deferred records.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from helpdesk.domain.ports import TenantLeases
from helpdesk.domain.work import SubmissionWork, SyncWork

DEFER_BASE_SECONDS = 2
DEFER_MAX_SECONDS = 30


def slots_for(max_concurrency: int, share_percent: int) -> int:
    """A tenant's slots: its share of the dispatcher's maximum concurrency, at least one."""
    return max(1, (max(1, max_concurrency) * max(1, min(100, share_percent))) // 100)


def defer_seconds(deferrals: int) -> int:
    """Delay of a record deferred `deferrals` times before: 2-4 s the first time (a slot often frees up within
    seconds), doubling up to 30 s for a tenant that keeps holding its whole share (a backlog of thousands must
    not keep every idle dispatcher instance busy re-sending it), jittered (no thundering herd)."""
    base: int = min(DEFER_MAX_SECONDS, DEFER_BASE_SECONDS * 2 ** min(deferrals, 5))
    return min(DEFER_MAX_SECONDS, base + random.randint(0, base))


@dataclass
class TenantShare:
    """One invocation's leases: `admit` the batch's tenants, `done` after a tenant's last record, `release_all`."""

    leases: TenantLeases
    held: dict[str, str] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)

    def admit(self, tenants: Sequence[str], until_epoch_s: float) -> set[str]:
        """Take a lease for each tenant (in order of first appearance); the tenants refused (share fully held)."""
        for tenant in dict.fromkeys(tenants):
            if tenant in self.held or tenant in self.refused:
                continue
            handle = self.leases.try_acquire(tenant, until_epoch_s)
            if handle is None:
                self.refused.add(tenant)
            else:
                self.held[tenant] = handle
        return set(self.refused)

    def done(self, tenant: str) -> None:
        handle = self.held.pop(tenant, None)
        if handle is not None:
            self.leases.release(tenant, handle)

    def release_all(self) -> None:
        for tenant in list(self.held):
            try:
                self.done(tenant)
            except Exception:  # a lease that cannot be given back lapses with the invocation
                self.held.pop(tenant, None)
        self.refused.clear()


@dataclass(frozen=True)
class Batch:
    """A batch split by the tenants' shares: indexes to handle now, and the work to send again later."""

    admitted: list[int]  # in the order to handle them
    deferred: list[tuple[int, SubmissionWork | SyncWork]]
    last_of_tenant: dict[int, str]  # index of each admitted tenant's last record -> tenant (give the lease back)


def split_batch(
    share: TenantShare,
    work: Sequence[tuple[SubmissionWork | SyncWork | None, int]],
    until_epoch_s: float,
) -> Batch:
    """`work` = (parsed message or None if unreadable, receive count) per record, in batch order."""
    refused = share.admit([w.tenant_id for w, _ in work if w is not None], until_epoch_s)
    admitted: list[int] = []
    deferred: list[tuple[int, SubmissionWork | SyncWork]] = []
    for index, (message, received) in enumerate(work):
        if message is not None and message.tenant_id in refused:
            # This receive did no work: the copy keeps the attempts made before it.
            attempts = message.attempts + max(0, received - 1)
            copy = message.model_copy(update={"attempts": attempts, "deferrals": message.deferrals + 1})
            deferred.append((index, copy))
        else:
            admitted.append(index)
    # Records run one after the other: a tenant with one record in the batch goes before a tenant with five, so
    # a quiet tenant's press never waits behind a busy tenant's run of slow records (batch order otherwise kept).
    per_tenant: dict[str, int] = {}
    for index in admitted:
        message = work[index][0]
        if message is not None:
            per_tenant[message.tenant_id] = per_tenant.get(message.tenant_id, 0) + 1

    def weight(index: int) -> int:
        message = work[index][0]
        return 0 if message is None else per_tenant[message.tenant_id]

    admitted.sort(key=lambda index: (weight(index), index))
    last: dict[str, int] = {}
    for index in admitted:
        message = work[index][0]
        if message is not None:
            last[message.tenant_id] = index
    return Batch(admitted, deferred, {index: tenant for tenant, index in last.items()})
