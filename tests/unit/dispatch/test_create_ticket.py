"""CreateTicket on in-memory fakes: step bookkeeping, retries, permanent failures, the breaker."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk.autotask import errors as at_errors
from helpdesk.autotask.cache import TTLCache
from helpdesk.autotask.models import AtContact
from helpdesk.dispatch.breaker import TenantBreaker
from helpdesk.dispatch.create_ticket import (
    CONTACT_MISS_TTL,
    CONTACT_TTL,
    MSG_CONTACT,
    MSG_DELAYED,
    CreateTicket,
    DispatchDeps,
    Outcome,
    RetryLater,
)
from helpdesk.domain.submission import StoredAttachment, Submission, SubmissionRequest, SubmissionStatus, receipt_for
from helpdesk.domain.tenant import AutotaskSettings, Tenant, TenantStatus, TicketDefaults
from helpdesk.domain.work import SubmissionWork
from helpdesk.ports import TenantNotConfigured

from .fakes import (
    DictBlobs,
    DictBreakerStore,
    FakeAutotask,
    FakeClients,
    FakeRules,
    InMemorySubmissions,
    InMemoryTenants,
)

ALICE = AtContact(id=30, companyID=174, firstName="Alice", lastName="Anders", emailAddress="alice@contoso.com")
CATCH_ALL = AtContact(id=1, companyID=0, firstName="Unregistered", lastName="User")


def tenant(**over: Any) -> Tenant:
    settings = AutotaskSettings(host="webservices5.autotask.net", integration_code="CODE", api_key_ciphertext="c")
    return Tenant(tenant_id="acme", name="Acme", autotask=settings, **over)


class Harness:
    def __init__(
        self, *, t: Tenant | None = None, rules: FakeRules | None = None, client_error: Exception | None = None
    ):
        self.at = FakeAutotask(contacts={"alice@contoso.com": ALICE, "unregistered@helpdeskbuttons.com": CATCH_ALL})
        self.subs = InMemorySubmissions()
        self.blobs = DictBlobs()
        self.store = DictBreakerStore()
        self.metrics: dict[str, float] = {}
        self.tenant_metrics: Counter[tuple[str, str]] = Counter()
        self.rules = rules or FakeRules()
        self.deps = DispatchDeps(
            tenants=InMemoryTenants(t or tenant(), rules={("acme", 1): "priority = 'High'"}),
            submissions=self.subs,
            clients=FakeClients(self.at, client_error),
            rules=self.rules,
            blobs=self.blobs,
            breaker=TenantBreaker(self.store),
            metric=lambda n, v: self.metrics.__setitem__(n, self.metrics.get(n, 0) + v),
            tenant_metric=lambda n, t, v: self.tenant_metrics.update({(n, t): int(v)}),
        )
        self.create = CreateTicket(self.deps)

    def submit(self, sid: str = "sub-0001-abcd", email: str = "alice@contoso.com", files: int = 0) -> Submission:
        request = SubmissionRequest.model_validate(
            {
                "submission_id": sid,
                "contact": {"name": "Alice", "email": email},
                "machine": {"hostname": "PC1"},
                "msg": "help",
            }
        )
        stored = []
        for n in range(files):
            self.blobs.data[f"k{n}"] = b"x" * (n + 1)
            stored.append(StoredAttachment(filename=f"f{n}.png", content_type="image/png", s3_key=f"k{n}", size=n + 1))
        return self.subs.create(Submission.from_request("acme", request, stored, receipt=receipt_for("k", "acme", sid)))

    def run(self, sid: str = "sub-0001-abcd", attempt: int = 1) -> Outcome:
        return self.create(SubmissionWork(tenant_id="acme", submission_id=sid), attempt=attempt)

    def sub(self, sid: str = "sub-0001-abcd") -> Submission:
        found = self.subs.get("acme", sid)
        assert found is not None
        return found


def test_happy_path_records_every_step_and_frees_the_claim() -> None:
    h = Harness()
    h.submit(files=2)
    assert h.run() is Outcome.CREATED
    sub = h.sub()
    assert sub.status is SubmissionStatus.CREATED and sub.ticket_number and sub.lease_owner is None
    assert sub.progress.note_id and set(sub.progress.attachments) == {"f0.png", "f1.png"}
    assert sub.autotask_requests == h.at.stats.total
    assert (
        h.tenant_metrics["TicketsCreated", "acme"] == 1
        and h.metrics["AutotaskRequestsPerTicket"] == sub.autotask_requests
    )
    [(ticket_id, ticket)] = h.at.tickets.items()
    assert ticket["externalID"] == "sub-0001-abcd" and ticket["contactID"] == 30 and ticket["companyID"] == 174
    assert [n.publish for n in h.at.notes[ticket_id]] == [2]  # Internal Only


@pytest.mark.parametrize("step", ["create_ticket", "create_ticket_note", "create_ticket_attachment"])
def test_a_lost_answer_is_looked_up_not_repeated(step: str) -> None:
    h = Harness()
    h.submit(files=1)
    h.at.commit_then_fail[step] = 1
    with pytest.raises(RetryLater):
        h.run()
    assert h.run(attempt=2) is Outcome.CREATED
    [(ticket_id, _)] = h.at.tickets.items()
    assert len(h.at.notes[ticket_id]) == 1 and len(h.at.attachments[ticket_id]) == 1


def test_a_failure_before_the_create_does_not_look_up_the_ticket() -> None:
    h = Harness()
    h.submit()
    h.at.fail["ticket_picklists"] = [at_errors.TransientError("503")]
    with pytest.raises(RetryLater):
        h.run()
    assert h.run(attempt=2) is Outcome.CREATED
    assert "find_ticket_by_external_id" not in h.at.calls


def test_throttle_retry_after_is_passed_to_the_queue() -> None:
    h = Harness()
    h.submit()
    h.at.fail["find_contact_by_email"] = [at_errors.Throttled("429", retry_after=42.0)]
    with pytest.raises(RetryLater) as err:
        h.run()
    assert err.value.retry_after == 42.0 and h.sub().lease_owner is None and h.sub().error


def test_the_last_attempt_tells_the_user_their_request_is_saved() -> None:
    h = Harness()
    h.submit()
    h.at.fail["find_contact_by_email"] = [at_errors.TransientError("503")]
    with pytest.raises(RetryLater):
        h.run(attempt=8)
    assert h.sub().message == MSG_DELAYED and h.sub().status is SubmissionStatus.CREATING


def test_the_last_attempt_marks_the_press_dead_lettered_for_the_admin_and_earlier_ones_do_not() -> None:
    from helpdesk.admin.presses import Outcome as PressOutcome
    from helpdesk.admin.presses import outcome_of

    h = Harness()
    h.submit()
    h.at.fail["find_contact_by_email"] = [at_errors.TransientError("503"), at_errors.TransientError("503")]
    with pytest.raises(RetryLater):
        h.run(attempt=7)
    assert h.sub().dead_lettered_at is None and outcome_of(h.sub()) is PressOutcome.WAITING
    with pytest.raises(RetryLater):
        h.run(attempt=8)
    assert h.sub().dead_lettered_at is not None and outcome_of(h.sub()) is PressOutcome.DEAD_LETTER
    assert "503" in (h.sub().error or "")


@pytest.mark.parametrize(
    "error",
    [at_errors.AuthenticationError("401", status=401), at_errors.PermissionError_("denied", status=500)],
)
def test_credential_failures_fail_the_submission_and_open_the_breaker(error: Exception) -> None:
    h = Harness()
    h.submit("sub-0001-abcd")
    h.submit("sub-0002-abcd")
    h.at.fail["find_contact_by_email"] = [error]
    assert h.run("sub-0001-abcd") is Outcome.FAILED
    first = h.sub("sub-0001-abcd")
    assert first.status is SubmissionStatus.FAILED and first.message and first.error
    calls = h.at.stats.total
    assert h.run("sub-0002-abcd") is Outcome.FAILED
    assert h.at.stats.total == calls  # fail fast: no Autotask call
    assert h.metrics["BreakerFastFail"] == 1


def test_repeated_transient_failures_open_the_breaker_and_defer_without_calls() -> None:
    h = Harness()
    h.submit()
    h.at.fail["find_contact_by_email"] = [at_errors.TransientError("503") for _ in range(5)]
    for attempt in range(1, 6):
        with pytest.raises(RetryLater):
            h.run(attempt=attempt)
    calls = h.at.stats.total
    with pytest.raises(RetryLater) as err:
        h.run(attempt=6)
    assert h.at.stats.total == calls and err.value.retry_after and err.value.retry_after > 20


def test_a_refusal_no_field_can_repair_fails_with_a_reason() -> None:
    h = Harness()
    h.submit()
    refused = "Value does not reference an existing entity for companyID . "
    h.at.fail["create_ticket"] = [at_errors.ValidationError_("bad", errors=[refused])]
    assert h.run() is Outcome.FAILED
    assert refused.strip() in (h.sub().error or "") and h.at.calls.count("create_ticket") == 1


def test_a_refused_field_is_replaced_and_the_create_retried_once_after_an_external_id_lookup() -> None:
    h = Harness(t=tenant(defaults=TicketDefaults(priority="Medium", ticketStatus="New", type=None)))
    h.submit()
    refusal = "2 is not a valid value for priority."  # Medium went inactive after the picklists were read
    h.at.fail["create_ticket"] = [at_errors.ValidationError_("bad", errors=[refusal])]
    assert h.run() is Outcome.CREATED
    creates = [i for i, c in enumerate(h.at.calls) if c == "create_ticket"]
    assert len(creates) == 2 and "find_ticket_by_external_id" in h.at.calls[creates[0] : creates[1]]
    [ticket] = h.at.tickets.values()
    assert ticket["priority"] == 5  # neither the tenant's nor Autotask's default (both Medium): the first active
    [error] = h.sub().submission_errors
    assert error == (
        f"priority 'Medium' (2): Autotask refused the ticket: \"{refusal}\"; used the first active value 'High' (5) "
        "instead."
    )
    assert "[Submission Errors]" in (h.sub().progress.note_text or "") and error in (h.sub().progress.note_text or "")


def test_a_second_refusal_fails_the_press_without_a_third_create() -> None:
    h = Harness()
    h.submit()
    refusal = at_errors.ValidationError_("bad", errors=["priority is required."])
    h.at.fail["create_ticket"] = [refusal, at_errors.ValidationError_("bad", errors=["queueID is required."])]
    assert h.run() is Outcome.FAILED and h.at.calls.count("create_ticket") == 2


def test_missing_catch_all_contact_fails_with_the_contact_message() -> None:
    h = Harness()
    del h.at.contacts["unregistered@helpdeskbuttons.com"]
    h.submit(email="who@else.example")
    assert h.run() is Outcome.FAILED and h.sub().message == MSG_CONTACT


def test_rules_exception_blocks_and_a_rules_crash_is_final_and_creates_with_the_defaults() -> None:
    blocked = Harness(
        t=tenant(rules_version=1),
        rules=FakeRules({"status": "ok", "variables": {}, "exception": "No tickets on Sundays."}),
    )
    blocked.submit()
    assert blocked.run() is Outcome.BLOCKED and blocked.sub().message == "No tickets on Sundays."
    assert blocked.at.tickets == {} and blocked.rules.payloads[0]["action"] == "evaluate"
    crashed = Harness(t=tenant(rules_version=1), rules=FakeRules({"status": "internal_error", "request_error": "x"}))
    crashed.submit()
    assert crashed.run() is Outcome.CREATED  # no retry storm: the rules step is over, the ticket has the defaults
    assert crashed.sub().rules_errors == ["the rules function failed: x"]
    assert crashed.sub().rules_outcome is not None and crashed.sub().rules_outcome.failed


def test_disabled_or_unconfigured_tenants_fail_clearly() -> None:
    disabled = Harness(t=tenant(status=TenantStatus.DISABLED))
    disabled.submit()
    assert disabled.run() is Outcome.FAILED
    unconfigured = Harness(client_error=TenantNotConfigured("no host"))
    unconfigured.submit()
    assert unconfigured.run() is Outcome.FAILED and "not configured" in (unconfigured.sub().error or "")


def test_a_live_claim_of_another_run_defers_and_an_expired_one_is_taken_over() -> None:
    h = Harness()
    sub = h.submit()
    live = h.subs.save(
        sub.model_copy(update={"lease_owner": "x", "lease_until": datetime.now(UTC) + timedelta(seconds=9)})
    )
    with pytest.raises(RetryLater):
        h.run()
    h.subs.save(live.model_copy(update={"lease_until": datetime.now(UTC) - timedelta(seconds=1)}))
    assert h.run(attempt=2) is Outcome.CREATED


def test_a_finished_submission_is_skipped() -> None:
    h = Harness()
    h.submit()
    h.run()
    calls = h.at.stats.total
    assert h.run(attempt=2) is Outcome.SKIPPED and h.at.stats.total == calls


def test_warm_caches_make_the_second_ticket_cost_three_requests() -> None:
    h = Harness()
    h.submit("sub-0001-abcd")
    h.submit("sub-0002-abcd", files=1)
    h.run("sub-0001-abcd")
    h.at.stats.total = 0
    h.run("sub-0002-abcd")
    # ticket picklists are cached by the real client, not by the fake: subtract that one call
    assert h.at.stats.total - h.at.calls[-(h.at.stats.total) :].count("ticket_picklists") == 3 + 1


def test_throttles_and_failures_after_a_success_do_not_trip_the_breaker() -> None:
    h = Harness()
    h.submit()
    h.at.fail["find_contact_by_email"] = [at_errors.Throttled("429", retry_after=1) for _ in range(6)]
    for attempt in range(1, 7):
        with pytest.raises(RetryLater):
            h.run(attempt=attempt)
    assert h.store.docs == {}
    # Autotask answered the lookups, then the create failed: a failure, not an outage
    h.at.fail["create_ticket"] = [at_errors.TransientError("503") for _ in range(6)]
    for attempt in range(7, 13):
        with pytest.raises(RetryLater):
            h.run(attempt=attempt)
    assert h.deps.breaker.state("acme").failures == 0


def test_a_refused_attachment_does_not_hold_the_ticket_hostage() -> None:
    h = Harness()
    h.submit(files=2)
    h.at.fail["create_ticket_attachment"] = [at_errors.ValidationError_("file type not allowed")]
    assert h.run() is Outcome.CREATED
    assert h.sub().progress.attachments["f0.png"] == 0 and h.sub().progress.attachments["f1.png"] > 0
    refused = [e for e in h.subs.list_events("acme", "sub-0001-abcd") if e.event == "note"]
    assert len(refused) == 1 and not refused[0].visible


def test_an_invocation_running_out_of_time_stops_between_steps_and_the_next_one_continues() -> None:
    h = Harness()
    h.submit(files=1)
    budget = iter([10.0, 10.0, 10.0, 10.0, -1.0])  # enough for resolve, picklists/create, number, note; not more
    h.deps.time_left = lambda: next(budget, -1.0)
    with pytest.raises(RetryLater) as err:
        h.run()
    assert err.value.retry_after == 1
    sub = h.sub()
    assert sub.ticket_id and sub.progress.note_id and sub.progress.attachments == {} and sub.lease_owner is None
    h.deps.time_left = lambda: 10.0
    assert h.run(attempt=2) is Outcome.CREATED
    [(ticket_id, _)] = h.at.tickets.items()
    assert len(h.at.notes[ticket_id]) == 1 and len(h.at.attachments[ticket_id]) == 1


def test_each_cause_of_a_press_not_becoming_a_ticket_is_counted_for_its_tenant() -> None:
    outage = Harness()
    outage.submit()
    outage.at.fail["find_contact_by_email"] = [at_errors.TransientError("503")]
    with pytest.raises(RetryLater):
        outage.run()
    throttled = Harness()
    throttled.submit()
    throttled.at.fail["find_contact_by_email"] = [at_errors.Throttled("429", retry_after=30.0)]
    with pytest.raises(RetryLater):
        throttled.run()
    refused = Harness()
    refused.submit()
    refused.at.fail["find_contact_by_email"] = [at_errors.AuthenticationError("401", status=401)]
    refused.run()
    crashed = Harness(t=tenant(rules_version=1), rules=FakeRules({"status": "internal_error", "request_error": "x"}))
    crashed.submit()
    crashed.run()  # the ticket is created as if no rules had run; the error is counted
    assert outage.tenant_metrics == {("AutotaskUnavailable", "acme"): 1}
    assert throttled.tenant_metrics == {("AutotaskThrottled", "acme"): 1}
    assert refused.tenant_metrics == {("CredentialsRejected", "acme"): 1, ("TicketsFailed", "acme"): 1}
    assert crashed.tenant_metrics == {("RulesErrors", "acme"): 1, ("TicketsCreated", "acme"): 1}


def test_each_outcome_is_counted_for_its_tenant() -> None:
    created = Harness()
    created.submit()
    created.run()
    blocked = Harness(t=tenant(rules_version=1), rules=FakeRules({"status": "ok", "variables": {}, "exception": "No."}))
    blocked.submit()
    blocked.run()
    last = Harness()
    last.submit()
    last.at.fail["find_contact_by_email"] = [at_errors.TransientError("503")]
    with pytest.raises(RetryLater):
        last.run(attempt=8)
    assert created.tenant_metrics == {("TicketsCreated", "acme"): 1}
    assert blocked.tenant_metrics == {("PressesBlocked", "acme"): 1}
    assert last.tenant_metrics == {("AutotaskUnavailable", "acme"): 1, ("PressesDeadLettered", "acme"): 1}


def test_a_contact_miss_is_remembered_for_at_most_a_minute_and_a_hit_for_ten() -> None:
    now = [1000.0]
    h = Harness()
    h.deps.caches.contacts = TTLCache(ttl=CONTACT_TTL, clock=lambda: now[0])
    h.submit("sub-miss-0001", email="new@contoso.com")
    assert h.run("sub-miss-0001") is Outcome.CREATED  # on the catch-all contact
    # the MSP adds the contact right after the miss
    h.at.contacts["new@contoso.com"] = AtContact(id=31, companyID=174, firstName="New", lastName="Person")
    now[0] += CONTACT_MISS_TTL - 1
    h.submit("sub-miss-0002", email="new@contoso.com")
    h.run("sub-miss-0002")
    now[0] += 2  # just over a minute after the miss
    h.submit("sub-miss-0003", email="new@contoso.com")
    h.run("sub-miss-0003")
    contacts = {t["externalID"]: t["contactID"] for t in h.at.tickets.values()}
    assert contacts == {"sub-miss-0001": 1, "sub-miss-0002": 1, "sub-miss-0003": 31}
    # a hit stays for ten minutes
    del h.at.contacts["new@contoso.com"]
    now[0] += CONTACT_TTL - 1
    h.submit("sub-miss-0004", email="new@contoso.com")
    h.run("sub-miss-0004")
    assert h.at.tickets[max(h.at.tickets)]["contactID"] == 31
