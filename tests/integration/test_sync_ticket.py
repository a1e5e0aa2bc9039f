"""The dispatcher's sync use case against moto and the Autotask simulator over real HTTP."""

from __future__ import annotations

import pytest

from devstack.autotask_sim import AutotaskSimulator
from helpdesk.adapters.dynamodb_notifications import DynamoSyncStates
from helpdesk.dispatch.create_ticket import Outcome, RetryLater
from helpdesk.dispatch.sync import SyncOutcome, SyncTicket
from helpdesk.domain.ports import ConflictError
from helpdesk.domain.sync import SyncState
from helpdesk.domain.tenant import SecretPurpose
from helpdesk.domain.work import SyncWork

from .dispatch_world import TENANT, World


@pytest.fixture
def world(aws_env: dict[str, str], sim: AutotaskSimulator) -> World:
    w = World(sim=sim, env=aws_env)
    w.add_tenant()
    return w


def _ticket(world: World, sid: str) -> int:
    world.submit(sid)
    assert world.create(world.work(sid)) is Outcome.CREATED
    sub = world.submissions.get(TENANT, sid)
    assert sub is not None and sub.ticket_id is not None
    return sub.ticket_id


def _sync(world: World, states: DynamoSyncStates | None = None) -> SyncTicket:
    return SyncTicket(world.deps, states or DynamoSyncStates(world.env["SUBMISSIONS_TABLE"]))


def _events(world: World, sid: str) -> list[tuple[str, str]]:
    return [(e.event, e.text) for e in world.submissions.list_events(TENANT, sid) if e.event not in {"creating"}]


def test_a_status_change_and_a_published_note_become_timeline_events_once(world: World) -> None:
    ticket_id = _ticket(world, "sync-00000001")
    sync = _sync(world)
    # Given a technician who sets the ticket In Progress and publishes a note, and an internal-only note
    world.sim.technician(ticket_id, status="In Progress", note="I am looking at your printer now.")
    world.sim.technician(ticket_id, note="internal: customer is grumpy", publish=2)
    # When the sync runs (twice, like a redelivered message)
    work = SyncWork(tenant_id=TENANT, ticket_id=ticket_id)
    assert sync(work) is SyncOutcome.SYNCED
    assert sync(work) is SyncOutcome.UNCHANGED
    # Then the timeline has the reply and the status change, once, and no internal note
    events = _events(world, "sync-00000001")
    assert [k for k, _ in events] == ["created", "reply", "status_changed"]
    assert events[1][1].endswith("I am looking at your printer now.")
    assert "In Progress" in events[2][1]
    assert not any("grumpy" in text for _, text in events)


def test_completion_is_announced_once(world: World) -> None:
    ticket_id = _ticket(world, "sync-00000002")
    sync = _sync(world)
    world.sim.technician(ticket_id, status="Complete")
    sync(SyncWork(tenant_id=TENANT, ticket_id=ticket_id))
    sync(SyncWork(tenant_id=TENANT, ticket_id=ticket_id))
    assert [k for k, _ in _events(world, "sync-00000002")] == ["created", "completed"]


def test_a_ticket_that_did_not_come_from_a_button_is_a_quiet_no_op(world: World) -> None:
    before = sum(world.sim.stats()["requests_by_endpoint"].values())
    assert _sync(world)(SyncWork(tenant_id=TENANT, ticket_id=987654)) is SyncOutcome.SKIPPED
    assert sum(world.sim.stats()["requests_by_endpoint"].values()) == before  # not one Autotask request


def test_a_sync_costs_about_two_autotask_requests(world: World) -> None:
    ticket_id = _ticket(world, "sync-00000003")
    sync = _sync(world)
    sync(SyncWork(tenant_id=TENANT, ticket_id=ticket_id))  # warms the picklist cache
    world.metrics.clear()
    world.sim.technician(ticket_id, status="In Progress")
    sync(SyncWork(tenant_id=TENANT, ticket_id=ticket_id))
    print(f"Autotask requests per warm sync: {world.metrics['AutotaskRequestsPerSync']:.0f}")
    assert world.metrics["AutotaskRequestsPerSync"] <= 3


class CrashAfterSave(DynamoSyncStates):
    """Saves the baseline, then 'crashes' before the events are appended (the first time only)."""

    crashed = False

    def save(self, tenant_id: str, submission_id: str, state: SyncState) -> SyncState:
        stored = super().save(tenant_id, submission_id, state)
        if state.pending and not self.crashed:
            self.crashed = True
            raise RuntimeError("Lambda timed out")
        return stored


def test_events_decided_before_a_crash_are_appended_by_the_next_run_exactly_once(world: World) -> None:
    ticket_id = _ticket(world, "sync-00000004")
    states = CrashAfterSave(world.env["SUBMISSIONS_TABLE"])
    world.sim.technician(ticket_id, status="Waiting Customer", note="Can you send a photo?")
    with pytest.raises(RuntimeError):
        _sync(world, states)(SyncWork(tenant_id=TENANT, ticket_id=ticket_id))
    assert [k for k, _ in _events(world, "sync-00000004")] == ["created"]
    _sync(world, states)(SyncWork(tenant_id=TENANT, ticket_id=ticket_id))
    _sync(world, states)(SyncWork(tenant_id=TENANT, ticket_id=ticket_id))
    assert [k for k, _ in _events(world, "sync-00000004")] == ["created", "reply", "status_changed"]


def test_the_baseline_is_optimistically_locked(world: World) -> None:
    states = DynamoSyncStates(world.env["SUBMISSIONS_TABLE"])
    first = states.save(TENANT, "sync-00000005", SyncState(ticket_id=1))
    states.save(TENANT, "sync-00000005", first)
    with pytest.raises(ConflictError):
        states.save(TENANT, "sync-00000005", first)


def test_broken_credentials_drop_the_sync_and_open_the_breaker(world: World) -> None:
    ticket_id = _ticket(world, "sync-00000006")
    tenant = world.tenants.get(TENANT)
    assert tenant is not None
    broken = tenant.autotask.model_copy(
        update={
            "api_key_ciphertext": world.box.seal(
                TENANT, "demo-api@example-msp.com:wrong-password", purpose=SecretPurpose.AUTOTASK_API_KEY
            )
        }
    )
    world.tenants.save(tenant.model_copy(update={"autotask": broken}))
    assert _sync(world)(SyncWork(tenant_id=TENANT, ticket_id=ticket_id)) is SyncOutcome.SKIPPED
    assert world.deps.breaker.state(TENANT).mode == "credentials"
    # and the next sync does not even try Autotask
    before = sum(world.sim.stats()["requests_by_endpoint"].values())
    assert _sync(world)(SyncWork(tenant_id=TENANT, ticket_id=ticket_id)) is SyncOutcome.SKIPPED
    assert sum(world.sim.stats()["requests_by_endpoint"].values()) == before


def test_an_autotask_outage_is_retried_later(world: World) -> None:
    ticket_id = _ticket(world, "sync-00000007")
    world.sim.set_faults("demo", error_rate=1.0)
    with pytest.raises(RetryLater):
        _sync(world)(SyncWork(tenant_id=TENANT, ticket_id=ticket_id))
    world.sim.clear_faults("demo")
    world.sim.technician(ticket_id, status="In Progress")
    assert _sync(world)(SyncWork(tenant_id=TENANT, ticket_id=ticket_id)) is SyncOutcome.SYNCED
