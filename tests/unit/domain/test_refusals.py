"""Autotask's refusal of a ticket field, read from its error text, and the field replaced or dropped."""

from __future__ import annotations

import pytest

from helpdesk.autotask.models import AtFieldInfo
from helpdesk.autotask.picklists import TicketPicklists
from helpdesk.domain.refusals import Refusal, parse_refusal, precheck, repair_fields
from helpdesk.domain.tenant import TicketDefaults


def _values(pairs: list[tuple[int, str, bool, bool]]) -> list[dict[str, object]]:
    return [
        {"value": str(v), "label": label, "isDefaultValue": default, "isActive": active, "sortOrder": n}
        for n, (v, label, default, active) in enumerate(pairs)
    ]


PICKLISTS = TicketPicklists(
    [
        AtFieldInfo.model_validate(
            {
                "name": "priority",
                "isPickList": True,
                "picklistValues": _values(
                    [(6, "Urgent", False, True), (2, "Medium", False, True), (4, "Obsolete", False, False)]
                ),
            }
        ),
        AtFieldInfo.model_validate(
            {
                "name": "queueID",
                "isPickList": True,
                "picklistValues": _values([(10, "Tier 1", True, True), (11, "Old", False, False)]),
            }
        ),
        AtFieldInfo.model_validate(
            {"name": "issueType", "isPickList": True, "picklistValues": _values([(4, "Hardware", False, True)])}
        ),
    ]
)
NO_DEFAULTS = TicketDefaults(priority=None, ticketStatus=None, type=None)


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (["priority is required."], [Refusal("priority", True, "priority is required.")]),
        (["11 is not a valid value for queueID."], [Refusal("queueID", False, "11 is not a valid value for queueID.")]),
        (
            ["Value does not reference an existing entity for billingCodeID . "],
            [Refusal("billingCodeID", False, "Value does not reference an existing entity for billingCodeID .")],
        ),
        (
            ["issueType is required for this ticket category."],
            [Refusal("issueType", True, "issueType is required for this ticket category.")],
        ),
        (
            ["contactID must be a contact of the ticket's companyID."],
            [Refusal("contactID", False, "contactID must be a contact of the ticket's companyID.")],
        ),
    ],
)
def test_the_refused_field_is_read_from_autotasks_message(messages: list[str], expected: list[Refusal]) -> None:
    assert parse_refusal(messages) == (expected, True)


@pytest.mark.parametrize(
    "messages",
    [
        ["Value does not reference an existing entity for companyID . "],
        ["title exceeds the maximum length of 255."],
        ["Something unexpected happened."],
        [],
    ],
)
def test_refusals_no_field_change_can_fix_are_not_retried(messages: list[str]) -> None:
    assert parse_refusal(messages)[1] is False


def test_a_missing_priority_falls_back_to_the_first_active_value_and_is_named() -> None:
    refusals, _ = parse_refusal(["priority is required."])
    repair = repair_fields({"title": "t"}, refusals, PICKLISTS, NO_DEFAULTS, active_work_types=list)
    assert repair is not None and repair.fields == {"title": "t", "priority": 6}
    assert repair.errors == [
        'priority (not set): Autotask refused the ticket: "priority is required."; used the first active value '
        "'Urgent' (6) instead."
    ]


def test_the_tenant_default_wins_over_autotasks_default() -> None:
    refusals, _ = parse_refusal(["11 is not a valid value for queueID."])
    defaults = NO_DEFAULTS.model_copy(update={"queue": "Tier 1"})
    repair = repair_fields({"queueID": 11}, refusals, PICKLISTS, defaults, active_work_types=list)
    assert repair is not None and repair.fields == {"queueID": 10} and "the default 'Tier 1'" in repair.errors[0]


def test_an_optional_reference_without_a_fallback_is_dropped_and_a_required_one_takes_an_active_value() -> None:
    refused, _ = parse_refusal(["Value does not reference an existing entity for billingCodeID . "])
    dropped = repair_fields({"billingCodeID": 123}, refused, PICKLISTS, NO_DEFAULTS, active_work_types=lambda: [7])
    assert dropped is not None and dropped.fields == {} and dropped.errors[0].endswith("left empty.")
    required, _ = parse_refusal(["billingCodeID is required for this ticket category."])
    filled = repair_fields({}, required, PICKLISTS, NO_DEFAULTS, active_work_types=lambda: [7])
    assert filled is not None and filled.fields == {"billingCodeID": 7}
    assert repair_fields({}, required, PICKLISTS, NO_DEFAULTS, active_work_types=list) is None


def test_a_replaced_issue_drops_its_sub_issue() -> None:
    refusals, _ = parse_refusal(["9 is not a valid value for issueType."])
    repair = repair_fields(
        {"issueType": 9, "subIssueType": 31}, refusals, PICKLISTS, NO_DEFAULTS, active_work_types=list
    )
    assert repair is not None and repair.fields == {}  # optional, no default: dropped with its sub-issue
    assert repair.errors[1] == "sub-issue: left empty because its issue was refused."


def test_after_a_refusal_every_other_field_that_would_be_refused_is_found() -> None:
    fields = {"priority": 4, "queueID": 10, "issueType": 4, "billingCodeID": 99}
    found = precheck(fields, PICKLISTS, lambda: [7])
    assert [(r.field, r.checked) for r in found] == [("priority", True), ("billingCodeID", True)]
    assert found[0].message == "4 is not an active value for priority"
