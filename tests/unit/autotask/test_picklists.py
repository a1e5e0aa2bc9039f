"""Label -> value mapping on a tenant's picklists (research-autotask-api.md section 5)."""

from __future__ import annotations

from devstack.autotask_sim import seed
from helpdesk.autotask.models import AtFieldInfo
from helpdesk.autotask.picklists import TicketPicklists


def picklists() -> TicketPicklists:
    fields = [
        AtFieldInfo.model_validate(
            {
                "name": name,
                "isPickList": True,
                "picklistValues": values,
                "picklistParentValueField": "IssueType" if name == "subIssueType" else "",
            }
        )
        for name, values in seed.ticket_picklists().items()
    ]
    fields.append(AtFieldInfo.model_validate({"name": "title", "isPickList": False}))
    return TicketPicklists(fields)


def test_labels_match_case_insensitively_and_ignore_extra_whitespace() -> None:
    p = picklists()
    assert p.resolve("priority", "high") == 5
    assert p.resolve("PRIORITY", "  Critical ") == 1
    assert p.resolve("queueid", "tier 1   support") == 29682833
    assert p.resolve("status", "In progress") == 8


def test_priorities_are_tenant_values_not_positions() -> None:
    p = picklists()
    assert [v.int_value for v in p.values("priority")] == [6, 1, 5, 2, 3]
    assert {p.resolve("priority", label) for label in ("Urgent", "Critical", "High", "Medium", "Low")} == {
        6,
        1,
        5,
        2,
        3,
    }


def test_inactive_values_never_resolve() -> None:
    p = picklists()
    assert p.resolve("priority", "Obsolete") is None
    assert p.resolve("status", "Waiting Materials") is None
    assert p.resolve("priority", 4) is None
    assert "Obsolete" not in p.labels("priority")
    assert p.label("priority", 4) == "Obsolete"  # an old ticket may still carry it


def test_sub_issue_types_resolve_only_under_their_parent_issue_type() -> None:
    p = picklists()
    assert p.resolve("subIssueType", "Printer", parent=4) == 13
    assert p.resolve("subIssueType", "printer", parent=9) == 31
    assert p.resolve_sub_issue("Printer", 9) == 31
    assert p.resolve("subIssueType", "Printer") is None  # ambiguous without the issue type
    assert p.resolve("subIssueType", "Email", parent=4) is None
    assert p.resolve("subIssueType", "VPN", parent=9) is None  # inactive
    assert p.parent_field("subIssueType") == "IssueType"


def test_values_are_strings_on_the_wire_and_ints_when_resolved() -> None:
    p = picklists()
    assert all(isinstance(v.value, str) for v in p.values("source"))
    assert p.resolve("source", "Client Portal") == -1
    assert p.resolve("source", "-1") == -1
    assert p.resolve("ticketType", 2) == 2
    assert p.resolve("ticketType", True) is None


def test_defaults_and_unknowns() -> None:
    p = picklists()
    assert p.default("priority") == 2
    assert p.default("status") == 1
    assert p.resolve("priority", "Whenever") is None
    assert p.resolve("nosuchfield", "x") is None
    assert not p.has_field("title")
