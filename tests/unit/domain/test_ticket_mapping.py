"""Submission + defaults + rule variables + picklists -> the ticket and its internal note."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.autotask.models import AtFieldInfo
from helpdesk.autotask.picklists import TicketPicklists
from helpdesk.domain.submission import Submission, SubmissionRequest, receipt_for
from helpdesk.domain.tenant import TicketDefaults
from helpdesk.domain.ticket import SUBMISSION_ERRORS_HEADER, build_ticket, note_title, rule_input


def _field(name: str, values: list[tuple[str, str]], parent_field: str | None = None, **extra: Any) -> AtFieldInfo:
    pv = []
    for i, item in enumerate(values):
        value, label, *rest = (*item, None)
        entry: dict[str, Any] = {"value": value, "label": label, "sortOrder": i, "isActive": True}
        if rest and rest[0] is not None:
            entry["parentValue"] = rest[0]
        pv.append(entry)
    if extra.get("default"):
        for e in pv:
            e["isDefaultValue"] = e["label"] == extra["default"]
    return AtFieldInfo.model_validate(
        {"name": name, "isPickList": True, "picklistValues": pv, "picklistParentValueField": parent_field}
    )


PICKLISTS = TicketPicklists(
    [
        _field("status", [("1", "New"), ("8", "In Progress")], default="New"),
        _field("priority", [("1", "Critical"), ("2", "Medium"), ("3", "Low"), ("5", "High")], default="Medium"),
        _field("queueID", [("29682833", "Tier 1 Support"), ("29682834", "Tier 2 Support")]),
        _field("ticketType", [("1", "Service Request"), ("2", "Incident")]),
        _field("source", [("-1", "Client Portal"), ("2", "Phone")]),
        _field("issueType", [("4", "Hardware"), ("5", "Software")]),
        _field("subIssueType", [("11", "Server", "4"), ("12", "Printer", "4"), ("13", "Printer", "5")], "issueType"),
        _field("ticketCategory", [("3", "Standard"), ("4", "AEM Alert")]),
    ]
)
DEFAULTS = TicketDefaults(
    queue="Tier 1 Support", priority="Medium", ticketStatus="New", type="Service Request", source="Client Portal"
)


def _submission(**over: Any) -> Submission:
    body: dict[str, Any] = {
        "submission_id": "sub-0001-abcd",
        "contact": {"name": "Ann Smith", "email": "ann@contoso.com", "phone": "555"},
        "machine": {"hostname": "PC-ANN", "ip": "10.0.0.5", "mac": "aa:bb", "username": "ann", "domain": "CONTOSO"},
        "msg": "The printer is on fire",
        "selections": ["This is an emergency"],
        "append": "ipconfig output",
    }
    body.update(over)
    request = SubmissionRequest.model_validate(body)
    return Submission.from_request("acme", request, [], receipt=receipt_for("k", "acme", request.submission_id))


def _draft(variables: dict[str, Any] | None = None, *, catch_all: bool = False, defaults: TicketDefaults = DEFAULTS):
    sub = _submission()
    base = rule_input(sub, defaults, contact_name="Ann Smith", business_name="Contoso")
    base.update(variables or {})
    return build_ticket(
        sub,
        defaults,
        base,
        PICKLISTS,
        company_id=7,
        contact_id=None if catch_all else 30,
        configuration_item_id=55,
        catch_all_used=catch_all,
    )


def test_defaults_and_rule_values_map_to_picklist_values() -> None:
    draft = _draft(
        {"priority": "High", "issue": "Hardware", "subIssue": "Printer", "category": "Standard", "worktype": 29682801}
    )
    f = draft.fields
    assert f["companyID"] == 7 and f["contactID"] == 30 and f["configurationItemID"] == 55
    assert f["externalID"] == "sub-0001-abcd"
    assert (f["priority"], f["status"], f["queueID"], f["ticketType"], f["source"]) == (5, 1, 29682833, 1, -1)
    assert (f["issueType"], f["subIssueType"], f["ticketCategory"], f["billingCodeID"]) == (4, 12, 3, 29682801)
    assert f["title"] == "The printer is on fire"
    assert f["description"] == "The printer is on fire\n\nSelections:\n- This is an emergency\n\nipconfig output"
    assert draft.submission_errors == []
    assert SUBMISSION_ERRORS_HEADER not in draft.note_text
    assert draft.note_title == note_title("sub-0001-abcd")
    assert "Hostname: PC-ANN" in draft.note_text and "CONTOSO\\ann" in draft.note_text
    assert "[Contact as typed]" not in draft.note_text


def test_sub_issue_is_resolved_under_its_issue() -> None:
    assert _draft({"issue": "Software", "subIssue": "Printer"}).fields["subIssueType"] == 13


def test_invalid_picklist_values_fall_back_and_are_listed_as_submission_errors() -> None:
    draft = _draft({"priority": "Urgentt", "queue": "Nope", "subIssue": "Printer", "worktype": "abc"})
    f = draft.fields
    assert f["priority"] == 2  # the tenant default "Medium"
    assert f["queueID"] == 29682833  # the tenant default queue
    assert "subIssueType" not in f  # no issue -> no sub-issue
    assert "billingCodeID" not in f
    assert len(draft.submission_errors) == 4
    assert SUBMISSION_ERRORS_HEADER in draft.note_text
    assert "'Urgentt' is not a valid priority" in draft.note_text


def test_invalid_default_falls_back_to_autotasks_default_or_nothing() -> None:
    defaults = DEFAULTS.model_copy(update={"priority": "Bogus", "queue": "Gone"})
    draft = _draft(defaults=defaults)
    assert draft.fields["priority"] == 2  # Autotask's isDefaultValue
    assert "queueID" not in draft.fields
    assert len(draft.submission_errors) == 2


def test_rules_may_rewrite_subject_message_and_append_and_add_a_private_note() -> None:
    draft = _draft({"subject": "**EMERGENCY** fire", "msg": "new msg", "append": "", "priv_append": "VIP client"})
    assert draft.fields["title"] == "**EMERGENCY** fire"
    assert draft.fields["description"].startswith("new msg")
    assert "[Dispatcher Rules]\nVIP client" in draft.note_text


def test_catch_all_note_carries_the_contact_as_typed() -> None:
    draft = _draft(catch_all=True)
    assert "contactID" not in draft.fields
    assert "[Contact as typed]" in draft.note_text and "ann@contoso.com" in draft.note_text


@pytest.mark.parametrize("size", [300, 9000])
def test_long_texts_are_clipped_to_autotask_lengths(size: int) -> None:
    draft = _draft({"subject": "s" * size, "msg": "m" * size})
    assert len(draft.fields["title"]) <= 255 and len(draft.fields["description"]) <= 8000
