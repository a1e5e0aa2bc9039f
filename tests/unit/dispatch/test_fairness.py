"""helpdesk.dispatch.fairness: a tenant's records beyond its share of the dispatcher are deferred, not failed."""

from __future__ import annotations

from helpdesk.dispatch.fairness import TenantShare, defer_seconds, slots_for, split_batch
from helpdesk.domain.work import SubmissionWork, SyncWork, dump_work, parse_work


class CountingLeases:
    """TenantLeases in memory: `slots` holders per tenant."""

    def __init__(self, slots: int, held: dict[str, int] | None = None) -> None:
        self.slots = slots
        self.held = dict(held or {})
        self.calls = 0

    def try_acquire(self, tenant_id: str, until_epoch_s: float) -> str | None:
        self.calls += 1
        if self.held.get(tenant_id, 0) >= self.slots:
            return None
        self.held[tenant_id] = self.held.get(tenant_id, 0) + 1
        return f"{tenant_id}-{self.held[tenant_id]}"

    def release(self, tenant_id: str, handle: str) -> None:
        self.calls += 1
        self.held[tenant_id] -= 1


def sub(tenant: str, n: int, attempts: int = 0) -> SubmissionWork:
    return SubmissionWork(tenant_id=tenant, submission_id=f"{tenant}-{n}", attempts=attempts)


def test_a_tenant_holding_its_whole_share_has_its_records_deferred_with_the_attempts_made() -> None:
    leases = CountingLeases(slots=2, held={"noisy": 2})
    share = TenantShare(leases)
    work = [(sub("noisy", 1), 3), (sub("quiet", 1), 1), (sub("noisy", 2, attempts=4), 2), (None, 1)]
    batch = split_batch(share, work, until_epoch_s=0)
    assert batch.admitted == [3, 1]  # the unreadable one (fails the usual way, at once), the quiet tenant's record
    assert [(i, w.submission_id, w.attempts) for i, w in batch.deferred] == [(0, "noisy-1", 2), (2, "noisy-2", 5)]
    assert [w.deferrals for _, w in batch.deferred] == [1, 1]
    assert batch.last_of_tenant == {1: "quiet"}
    assert leases.held == {"noisy": 2, "quiet": 1}


def test_one_lease_per_tenant_per_batch_given_back_after_its_last_record() -> None:
    leases = CountingLeases(slots=1)
    share = TenantShare(leases)
    work = [(sub("a", 1), 1), (SyncWork(tenant_id="b", ticket_id=5), 1), (sub("a", 2), 1)]
    batch = split_batch(share, work, until_epoch_s=0)
    assert batch.admitted == [1, 0, 2] and batch.last_of_tenant == {1: "b", 2: "a"}
    assert leases.calls == 2 and leases.held == {"a": 1, "b": 1}
    share.done("b")
    assert leases.held == {"a": 1, "b": 0}
    share.release_all()
    assert leases.held == {"a": 0, "b": 0} and leases.calls == 4


def test_a_tenants_slots_are_its_share_of_the_concurrency_and_never_zero() -> None:
    assert slots_for(10, 30) == 3
    assert slots_for(10, 5) == 1
    assert slots_for(2, 30) == 1
    assert slots_for(50, 100) == 50


def test_attempts_travel_in_the_body_only_when_there_are_some() -> None:
    assert "attempts" not in dump_work(sub("a", 1))
    again = parse_work(dump_work(sub("a", 1, attempts=3)))
    assert isinstance(again, SubmissionWork) and again.attempts == 3


def test_a_tenant_with_one_record_in_the_batch_goes_before_a_tenant_with_many() -> None:
    share = TenantShare(CountingLeases(slots=3))
    work = [(sub("slow", 1), 1), (sub("slow", 2), 1), (sub("slow", 3), 1), (sub("quiet", 1), 1), (sub("slow", 4), 1)]
    batch = split_batch(share, work, until_epoch_s=0)
    assert batch.admitted == [3, 0, 1, 2, 4]
    assert batch.last_of_tenant == {3: "quiet", 4: "slow"}


def test_a_tenant_deferred_again_and_again_waits_longer_each_time_up_to_half_a_minute() -> None:
    first = [defer_seconds(0) for _ in range(200)]
    assert min(first) >= 2 and max(first) <= 4
    later = [defer_seconds(3) for _ in range(200)]
    assert min(later) >= 16 and max(later) <= 30
    assert max(defer_seconds(50) for _ in range(200)) <= 30
