"""The Integration Test covers what tickets will use: values in the saved rules, a default for every field Autotask
requires, and read access to what a ticket links. Messages keep the original product's wording."""

from __future__ import annotations

import dataclasses

from helpdesk.admin.ports import EntityAccess, PicklistOption
from helpdesk.admin.rules_literals import AssignedLiteral, assigned_literals
from helpdesk.rules.variables import ORIGINAL_SPELLINGS
from tests.unit.admin.test_integration_test_and_parsing import by_id, configured_tenant

RULES = """\
if 'This is an emergency' in selections:
    priority = 'Sunday'
queue = 'Tier 1 Support' if '!' in msg else 'Marmoset'
priority_names = ['Critical', 'High', 'Medium']
if 'VIP' in selections:
    priority = priority_names[0]
subissue = 'Toaster'
worktype = 123
"""


def test_values_the_rules_assign_are_found_in_the_syntax_tree() -> None:
    found = assigned_literals(RULES, ORIGINAL_SPELLINGS)
    assert found == [
        AssignedLiteral("priority", "Sunday", 2),
        AssignedLiteral("queue", "Tier 1 Support", 3),
        AssignedLiteral("queue", "Marmoset", 3),
        AssignedLiteral("priority", "Critical", 6),
        AssignedLiteral("priority", "High", 6),
        AssignedLiteral("priority", "Medium", 6),
        AssignedLiteral("subIssue", "Toaster", 7),
        AssignedLiteral("worktype", 123, 8),
    ]
    assert assigned_literals("if (:\n") == []


def test_each_value_in_the_saved_rules_must_resolve_in_the_products_wording() -> None:
    service, _, _ = configured_tenant(priority="High")
    service.save_rules("acme", RULES)
    report = service.integration_test("acme")
    failed = {c.name: c.message for c in report.checks if c.status == "fail"}
    assert failed == {
        "Rules: priority = 'Sunday' (line 2)": "Line 2: There was an error validating input. Sunday Priority Not "
        "Found. Choose one of: Critical, High, Medium, Low.",
        "Rules: queue = 'Marmoset' (line 3)": "Line 3: There was an error validating input. Marmoset Queue Not Found. "
        "Choose one of: Client Portal, Tier 1 Support, Tier 2 Support.",
        "Rules: subIssue = 'Toaster' (line 7)": "Line 7: There was an error validating input. Toaster Sub-Issue Not "
        "Found.",
        "Rules: worktype = 123 (line 8)": "Line 8: There was an error validating input. Work type 123 Not Found (no "
        "active allocation code with that id).",
    }
    assert not report.ok
    passed = [c.name for c in report.checks if c.status == "pass" and c.name.startswith("Rules: ")]
    assert "Rules: priority = 'Critical' (line 6)" in passed and "Rules: queue = 'Tier 1 Support' (line 3)" in passed


def test_no_default_priority_anywhere_fails_and_says_what_tickets_will_get() -> None:
    service, _, _ = configured_tenant()  # no default priority in the settings, none marked default in Autotask
    check = by_id(service.integration_test("acme"))["default_priority"]
    assert check.status == "fail"
    assert check.message.startswith("There was an error validating input. Default Priority Not Found")
    assert "first active priority ('Critical')" in check.message


def test_autotasks_own_default_priority_is_enough() -> None:
    service, _, gateway = configured_tenant()
    priorities = [dataclasses.replace(o, is_default=o.label == "Medium") for o in gateway.lists.fields["priority"]]
    gateway.lists = dataclasses.replace(gateway.lists, fields={**gateway.lists.fields, "priority": priorities})
    check = by_id(service.integration_test("acme"))["default_priority"]
    assert check.status == "pass" and "Autotask's default 'Medium' applies" in check.message
    assert isinstance(priorities[0], PicklistOption)


def test_read_access_to_configuration_items_work_types_and_resources_is_checked() -> None:
    service, _, gateway = configured_tenant(priority="High")
    gateway.access["ConfigurationItems"] = EntityAccess(entity="ConfigurationItems", user_query=False)
    checks = by_id(service.integration_test("acme"))
    assert checks["perm_configuration_items"].status == "fail"
    assert checks["perm_configuration_items"].message == (
        "There was an error involving permissions in your PSA. The API user may not read configuration items."
    )
    assert checks["perm_billing_codes"].status == "pass" and checks["perm_resources"].status == "pass"
