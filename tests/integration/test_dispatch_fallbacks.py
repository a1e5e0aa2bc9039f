"""Configuration mistakes never lose a press: rules that fail and fields Autotask refuses still make a ticket,
with the fallback named in the internal note and on the submission (moto + the Autotask simulator)."""

from __future__ import annotations

import pytest

from devstack.autotask_sim.seed import PRIORITY, QUEUE
from helpdesk.dispatch.create_ticket import Outcome, RetryLater
from helpdesk.domain.rules import RuleResult, RulesFunctionFailed, RulesRequest
from helpdesk.domain.submission import SubmissionStatus
from helpdesk.domain.tenant import RulesErrorPolicy, TicketDefaults
from helpdesk.domain.ticket import SUBMISSION_ERRORS_HEADER

from .dispatch_world import DEFAULTS, TENANT, World
from .test_dispatch_create_ticket import _drive

RAISING_RULES = (
    "if 'Printer' in selections:\n"
    "    queue = 'Tier 2 Support'\n"
    "    priority = 'Critical'\n"
    "level = int(priority)\n"  # int('Medium'): ValueError on line 4, after the rules changed queue/priority
)


def _note(world: World, sid: str) -> str:
    [ticket] = world.ticket_for(sid)
    return str(ticket["notes"][0]["description"])


def test_rules_that_raise_still_create_the_ticket_with_the_defaults_and_name_the_error(world: World) -> None:
    tenant_metrics: list[tuple[str, str, float]] = []
    world.deps.tenant_metric = lambda name, tenant, value: tenant_metrics.append((name, tenant, value))
    world.add_tenant(rules=RAISING_RULES)
    world.submit("sub-rulesbug-01")
    assert world.create(world.work("sub-rulesbug-01")) is Outcome.CREATED
    [ticket] = world.ticket_for("sub-rulesbug-01")
    # as if no rules had run: the changes made before the failing line are not applied
    assert ticket["queueID"] == QUEUE["Tier 1 Support"] and ticket["priority"] == PRIORITY["Medium"]
    note = _note(world, "sub-rulesbug-01")
    assert "[Rules error] line 4: ValueError: invalid literal for int() with base 10: 'Critical'" in note
    sub = world.submissions.get(TENANT, "sub-rulesbug-01")
    assert sub is not None and sub.status is SubmissionStatus.CREATED and sub.message is None
    assert sub.rules_errors == ["line 4: ValueError: invalid literal for int() with base 10: 'Critical'"]
    assert sub.rules_outcome is not None and sub.rules_outcome.failed and sub.rules_outcome.changed == {}
    assert ("RulesErrors", TENANT, 1) in tenant_metrics


def test_a_rules_limit_is_a_rules_error_not_a_lost_press(world: World) -> None:
    world.add_tenant(rules="n = 0\nfor i in range(10000000):\n    n += 1\n")
    world.submit("sub-ruleslimit-1")
    assert world.create(world.work("sub-ruleslimit-1")) is Outcome.CREATED
    sub = world.submissions.get(TENANT, "sub-ruleslimit-1")
    assert sub is not None and len(sub.rules_errors) == 1 and sub.rules_errors[0].startswith("line ")
    assert "[Rules error] line " in _note(world, "sub-ruleslimit-1")


def test_the_tenant_can_keep_the_original_any_error_blocks_behaviour(world: World) -> None:
    world.add_tenant(rules=RAISING_RULES, rules_on_error=RulesErrorPolicy.BLOCK)
    world.submit("sub-rulesblock-1")
    assert world.create(world.work("sub-rulesblock-1")) is Outcome.BLOCKED
    sub = world.submissions.get(TENANT, "sub-rulesblock-1")
    assert sub is not None and sub.status is SubmissionStatus.BLOCKED
    assert sub.message == "Rules error on line 4: ValueError: invalid literal for int() with base 10: 'Critical'"
    assert world.ticket_for("sub-rulesblock-1") == []


def test_an_intentional_exception_still_blocks_with_its_text(world: World) -> None:
    world.add_tenant(rules="exception = 'Closed for the holidays.'\n")
    world.submit("sub-rulesexc-01")
    assert world.create(world.work("sub-rulesexc-01")) is Outcome.BLOCKED
    sub = world.submissions.get(TENANT, "sub-rulesexc-01")
    assert sub is not None and sub.message == "Closed for the holidays." and sub.rules_errors == []


class CrashingRules:
    """The rules function crashes or times out (FunctionError / read timeout) on every call."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, request: RulesRequest) -> RuleResult:
        self.calls += 1
        raise RulesFunctionFailed("the rules function failed (Unhandled)")


def test_a_crashing_rules_function_is_final_and_never_rerun_by_later_retries(world: World) -> None:
    crashing = CrashingRules()
    world.deps.rules = crashing
    world.add_tenant(rules="priority = 'High'\n")
    world.submit("sub-rulescrash-1")
    # the ticket create fails transiently twice: later attempts must reuse the recorded rules outcome
    world.sim.set_faults("demo", error_rate=1.0, count=2, entities=["Tickets"], methods=["POST"])
    assert _drive(world, "sub-rulescrash-1") is Outcome.CREATED
    assert crashing.calls == 1
    [ticket] = world.ticket_for("sub-rulescrash-1")
    assert ticket["priority"] == PRIORITY["Medium"]
    assert "[Rules error] the rules function failed (Unhandled)" in _note(world, "sub-rulescrash-1")


def test_rules_that_ran_are_not_run_again_when_a_later_step_is_retried(world: World) -> None:
    world.add_tenant(rules="priority = 'High'\n")
    world.submit("sub-rulesonce-01")
    world.sim.set_faults("demo", error_rate=1.0, count=1, entities=["Tickets"], methods=["POST"])
    with pytest.raises(RetryLater):
        world.create(world.work("sub-rulesonce-01"), attempt=1)
    calls = world.rules.calls
    assert world.create(world.work("sub-rulesonce-01"), attempt=2) is Outcome.CREATED
    assert world.rules.calls == calls == 1
    [ticket] = world.ticket_for("sub-rulesonce-01")
    assert ticket["priority"] == PRIORITY["High"]


NO_PRIORITY = TicketDefaults(queue="Tier 1 Support", ticketStatus="New", type="Service Request", priority=None)


def test_without_any_default_priority_the_ticket_takes_the_first_active_one_and_names_it(world: World) -> None:
    # Given an Autotask with no priority marked default and a tenant without a default priority
    world.sim.set_picklist_default("demo", "priority", None)
    world.add_tenant(defaults=NO_PRIORITY)
    world.submit("sub-noprio-0001")
    # When the press is dispatched, Autotask refuses the create ("priority is required.") once
    assert world.create(world.work("sub-noprio-0001")) is Outcome.CREATED
    # Then the ticket exists with the first active priority, named under [Submission Errors]
    [ticket] = world.ticket_for("sub-noprio-0001")
    assert ticket["priority"] == PRIORITY["Urgent"]
    note = _note(world, "sub-noprio-0001")
    assert SUBMISSION_ERRORS_HEADER in note and '"priority is required."' in note and "'Urgent' (6)" in note
    sub = world.submissions.get(TENANT, "sub-noprio-0001")
    assert sub is not None and any(e.startswith("priority (not set)") for e in sub.submission_errors)
    assert world.sim.request_count("POST /V1.0/Tickets") == 2


@pytest.mark.parametrize(
    ("worktype", "refusal"),
    [
        (12345, "Value does not reference an existing entity for billingCodeID"),
        (29682803, "29682803 is not a valid value for billingCodeID (inactive)."),
    ],
    ids=["unknown-id", "inactive"],
)
def test_a_work_type_autotask_refuses_is_dropped_and_named(world: World, worktype: int, refusal: str) -> None:
    world.add_tenant(defaults=DEFAULTS.model_copy(update={"worktype": worktype}))
    world.submit("sub-worktype-01")
    assert world.create(world.work("sub-worktype-01")) is Outcome.CREATED
    [ticket] = world.ticket_for("sub-worktype-01")
    assert ticket.get("billingCodeID") is None
    note = _note(world, "sub-worktype-01")
    assert f"work type {worktype}: Autotask refused the ticket" in note and refusal in note and "left empty" in note


def test_a_field_the_category_requires_is_filled_and_named(world: World) -> None:
    world.sim.set_category_required("demo", 4, ["issueType"])  # "Helpdesk Buttons", the tenant's default category
    world.add_tenant()
    world.submit("sub-category-01", selections=[])
    assert world.create(world.work("sub-category-01")) is Outcome.CREATED
    [ticket] = world.ticket_for("sub-category-01")
    assert ticket["issueType"] == 4 and ticket["ticketCategory"] == 4
    assert '"issueType is required for this ticket category."' in _note(world, "sub-category-01")


def test_a_refused_create_then_a_lost_answer_still_makes_one_ticket(world: World) -> None:
    world.sim.set_picklist_default("demo", "priority", None)
    world.add_tenant(defaults=NO_PRIORITY)
    world.submit("sub-refusedrop-1")
    # the repaired create commits but its answer is lost: the next run finds it by externalID
    world.sim.set_faults("demo", drop_after_commit_rate=1.0, entities=["Tickets"], methods=["POST"])
    with pytest.raises(RetryLater):
        world.create(world.work("sub-refusedrop-1"), attempt=1)
    world.sim.clear_faults("demo")
    assert _drive(world, "sub-refusedrop-1") is Outcome.CREATED
    [ticket] = world.ticket_for("sub-refusedrop-1")
    assert len(ticket["notes"]) == 1 and ticket["priority"] == PRIORITY["Urgent"]


def test_two_bad_fields_are_both_fixed_in_the_one_retry(world: World) -> None:
    # Autotask names only the missing priority; the unknown work type would be refused next
    world.sim.set_picklist_default("demo", "priority", None)
    world.add_tenant(defaults=NO_PRIORITY.model_copy(update={"worktype": 12345}))
    world.submit("sub-twobad-0001")
    assert world.create(world.work("sub-twobad-0001")) is Outcome.CREATED
    [ticket] = world.ticket_for("sub-twobad-0001")
    assert ticket["priority"] == PRIORITY["Urgent"] and ticket.get("billingCodeID") is None
    note = _note(world, "sub-twobad-0001")
    assert '"priority is required."' in note
    assert "work type 12345: checked after Autotask refused the ticket: 12345 is not an active work type" in note
    assert world.sim.request_count("POST /V1.0/Tickets") == 2
