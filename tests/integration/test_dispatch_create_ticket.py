"""CreateTicket against moto (DynamoDB, KMS, S3) and the Autotask simulator over real HTTP."""

from __future__ import annotations

import pytest

from devstack.autotask_sim.seed import CONTOSO_ID, PRIORITY, QUEUE, STATUS, WORK_TYPE_REMOTE
from helpdesk.dispatch.create_ticket import MSG_CONTACT, Outcome, RetryLater
from helpdesk.domain.submission import SubmissionStatus
from helpdesk.domain.tenant import SecretPurpose
from helpdesk.domain.ticket import SUBMISSION_ERRORS_HEADER, note_title

from .dispatch_world import TENANT, World


def _drive(world: World, sid: str, *, max_attempts: int = 10) -> Outcome:
    """Run the use case like the queue would: again after each RetryLater, up to a bound."""
    for attempt in range(1, max_attempts + 1):
        try:
            return world.create(world.work(sid), attempt=attempt)
        except RetryLater:
            sub = world.submissions.get(TENANT, sid)
            assert sub is not None and sub.lease_owner is None  # a failed run releases its claim
            continue
    raise AssertionError("did not finish")


def test_a_submission_becomes_one_complete_ticket(world: World) -> None:
    # Given a tenant with defaults and a submission with a screenshot from a known contact on a known PC
    world.add_tenant()
    world.submit("sub-happy-0001", files={"screen.png": b"\x89PNG fake"})
    # When it is dispatched
    assert world.create(world.work("sub-happy-0001")) is Outcome.CREATED
    # Then exactly one ticket exists with every field mapped
    [ticket] = world.ticket_for("sub-happy-0001")
    assert ticket["companyID"] == CONTOSO_ID and ticket["contactID"] == 30682001
    assert ticket["configurationItemID"] == 40001
    assert ticket["priority"] == PRIORITY["Medium"] and ticket["status"] == STATUS["New"]
    assert ticket["queueID"] == QUEUE["Tier 1 Support"] and ticket["ticketType"] == 1
    assert ticket["source"] == 8 and ticket["ticketCategory"] == 4 and ticket["billingCodeID"] == WORK_TYPE_REMOTE
    assert ticket["title"] == "The printer says PC LOAD LETTER"
    assert ticket["description"] == "The printer says PC LOAD LETTER\n\nSelections:\n- Printer\n\nscript output"
    [note] = ticket["notes"]
    assert note["title"] == note_title("sub-happy-0001") and note["publish"] == 2
    assert "Hostname: CONTOSO-PC1" in note["description"] and SUBMISSION_ERRORS_HEADER not in note["description"]
    [attachment] = ticket["attachments"]
    assert world.sim.attachment_data("demo", attachment["id"]) == b"\x89PNG fake"
    # And the submission records the ticket and the cost
    sub = world.submissions.get(TENANT, "sub-happy-0001")
    assert sub is not None and sub.status is SubmissionStatus.CREATED
    assert sub.ticket_id == ticket["id"] and sub.ticket_number == ticket["ticketNumber"]
    assert sub.resolved.business_name == "Contoso Ltd." and not sub.resolved.catch_all_used
    assert sub.autotask_requests > 0 and sub.lease_owner is None
    events = world.submissions.list_events(TENANT, "sub-happy-0001")
    assert [e.event for e in events if e.visible] == ["created"]
    assert ticket["ticketNumber"] in events[-1].text


def test_warm_caches_cost_three_requests_plus_one_per_attachment(world: World) -> None:
    world.add_tenant()
    world.submit("sub-cold-0001")
    world.create(world.work("sub-cold-0001"))
    world.submit("sub-warm-0001", files={"a.png": b"a", "b.png": b"b"})
    world.create(world.work("sub-warm-0001"))
    sub = world.submissions.get(TENANT, "sub-warm-0001")
    assert sub is not None and sub.autotask_requests == 3 + 2


def test_unknown_email_lands_on_the_catch_all_contact_with_the_typed_contact_in_the_note(world: World) -> None:
    world.add_tenant()
    world.submit("sub-unknown-01", email="stranger@nowhere.example", hostname="UNKNOWN-PC")
    assert world.create(world.work("sub-unknown-01")) is Outcome.CREATED
    [ticket] = world.ticket_for("sub-unknown-01")
    assert ticket["contactID"] == 30682000 and ticket["companyID"] == 0
    assert "configurationItemID" not in ticket or ticket["configurationItemID"] is None
    note = ticket["notes"][0]["description"]
    assert "[Contact as typed]" in note and "stranger@nowhere.example" in note and "Alice Typed" in note


def test_missing_catch_all_contact_fails_with_the_contact_error(world: World) -> None:
    tenant = world.add_tenant()
    world.tenants.save(
        tenant.model_copy(update={"autotask": tenant.autotask.model_copy(update={"unregistered_email": "x@y.example"})})
    )
    world.submit("sub-nocatch-01", email="stranger@nowhere.example")
    assert world.create(world.work("sub-nocatch-01")) is Outcome.FAILED
    sub = world.submissions.get(TENANT, "sub-nocatch-01")
    assert sub is not None and sub.status is SubmissionStatus.FAILED and sub.message == MSG_CONTACT
    assert world.ticket_for("sub-nocatch-01") == []


def test_a_rule_exception_blocks_the_ticket_and_shows_its_text(world: World) -> None:
    world.add_tenant(
        rules="if businessName == 'Fabrikam, Inc.':\n    exception = 'Ticket submission disabled until payment.'\n"
    )
    world.submit("sub-blocked-01", email="dave@fabrikam.com", hostname="FABRIKAM-PC1")
    assert world.create(world.work("sub-blocked-01")) is Outcome.BLOCKED
    sub = world.submissions.get(TENANT, "sub-blocked-01")
    assert sub is not None and sub.status is SubmissionStatus.BLOCKED
    assert sub.message == "Ticket submission disabled until payment."
    assert world.ticket_for("sub-blocked-01") == []


def test_rules_set_fields_and_invalid_values_become_submission_errors(world: World) -> None:
    rules = (
        "if 'Printer' in selections:\n"
        "    priority = 'Critical'\n"
        "    issue = 'Hardware'\n"
        "    subIssue = 'Printer'\n"
        "    queue = 'Tier 9 Support'\n"
        "    ticketStatus = 'Bogus'\n"
        "    priv_append = 'VIP'\n"
        "    subject = '**EMERGENCY** ' + subject\n"
    )
    world.add_tenant(rules=rules)
    world.submit("sub-rules-0001")
    assert world.create(world.work("sub-rules-0001")) is Outcome.CREATED
    [ticket] = world.ticket_for("sub-rules-0001")
    assert ticket["priority"] == PRIORITY["Critical"] and ticket["issueType"] == 4 and ticket["subIssueType"] == 13
    assert ticket["queueID"] == QUEUE["Tier 1 Support"]  # invalid -> the default
    assert ticket["status"] == STATUS["New"]
    assert ticket["title"].startswith("**EMERGENCY** ")
    note = ticket["notes"][0]["description"]
    assert SUBMISSION_ERRORS_HEADER in note and "'Tier 9 Support'" in note and "'Bogus'" in note and "VIP" in note


@pytest.mark.parametrize("entity", ["Tickets", "TicketNotes", "TicketAttachments"])
def test_a_write_committed_but_whose_answer_was_lost_is_not_repeated(world: World, entity: str) -> None:
    world.add_tenant()
    world.submit("sub-drop-00001", files={"s.png": b"png"})
    world.sim.set_faults("demo", drop_after_commit_rate=1.0, count=1, entities=[entity], methods=["POST"])
    assert _drive(world, "sub-drop-00001") is Outcome.CREATED
    [ticket] = world.ticket_for("sub-drop-00001")
    assert len(ticket["notes"]) == 1 and len(ticket["attachments"]) == 1


@pytest.mark.parametrize(
    "faults",
    [
        {"throttle_rate": 1.0, "count": 2, "retry_after": 0.1},
        {"thread_limit_rate": 1.0, "count": 2},
        {"error_rate": 1.0, "count": 3},
    ],
)
def test_transient_errors_are_retried_until_one_ticket_exists(world: World, faults: dict[str, float]) -> None:
    world.add_tenant()
    world.submit("sub-flaky-0001")
    world.sim.set_faults("demo", **faults)
    assert _drive(world, "sub-flaky-0001") is Outcome.CREATED
    assert len(world.ticket_for("sub-flaky-0001")) == 1


def test_bad_credentials_fail_clearly_and_open_the_breaker(world: World) -> None:
    world.add_tenant(api_key="demo-api@example-msp.com:wrong-password")
    world.submit("sub-badauth-01")
    world.submit("sub-badauth-02")
    assert world.create(world.work("sub-badauth-01")) is Outcome.FAILED
    first = world.submissions.get(TENANT, "sub-badauth-01")
    assert first is not None and first.status is SubmissionStatus.FAILED
    assert first.error and "authenticating" in first.error and first.message
    # The next submission of that tenant fails fast: no Autotask call at all
    world.sim.reset_stats()
    assert world.create(world.work("sub-badauth-02")) is Outcome.FAILED
    assert sum(world.sim.stats()["requests_by_endpoint"].values()) == 0
    assert world.metrics.get("BreakerFastFail") == 1


def test_fixed_credentials_close_the_breaker(world: World) -> None:
    tenant = world.add_tenant(api_key="demo-api@example-msp.com:wrong-password")
    world.submit("sub-fixed-0001")
    world.create(world.work("sub-fixed-0001"))
    from devstack.autotask_sim import DEMO

    fixed = tenant.model_copy(
        update={
            "autotask": tenant.autotask.model_copy(
                update={
                    "api_key_ciphertext": world.box.seal(TENANT, DEMO.api_key, purpose=SecretPurpose.AUTOTASK_API_KEY)
                }
            )
        }
    )
    world.tenants.save(world.tenants.get(TENANT).model_copy(update={"autotask": fixed.autotask}))  # type: ignore[union-attr]
    world.submit("sub-fixed-0002")
    assert world.create(world.work("sub-fixed-0002")) is Outcome.CREATED


def test_redelivery_of_a_finished_submission_does_nothing(world: World) -> None:
    world.add_tenant()
    world.submit("sub-redeliv-01")
    assert world.create(world.work("sub-redeliv-01")) is Outcome.CREATED
    world.sim.reset_stats()
    assert world.create(world.work("sub-redeliv-01")) is Outcome.SKIPPED
    assert sum(world.sim.stats()["requests_by_endpoint"].values()) == 0


def test_a_concurrent_delivery_backs_off_while_another_run_holds_the_claim(world: World) -> None:
    world.add_tenant()
    sub = world.submit("sub-lease-0001")
    from datetime import UTC, datetime, timedelta

    world.submissions.save(
        sub.model_copy(update={"lease_owner": "other", "lease_until": datetime.now(UTC) + timedelta(seconds=30)})
    )
    with pytest.raises(RetryLater) as err:
        world.create(world.work("sub-lease-0001"))
    assert err.value.retry_after is not None and 25 < err.value.retry_after <= 32
    assert world.ticket_for("sub-lease-0001") == []


def test_unknown_submission_is_dropped(world: World) -> None:
    world.add_tenant()
    assert world.create(world.work("sub-missing-01")) is Outcome.SKIPPED
