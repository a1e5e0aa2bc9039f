"""The Integration Test's checks and messages; parsing the rules function's answer; the webhook field choice."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from helpdesk.admin.errors import Invalid, Upstream
from helpdesk.admin.gateway import _subscribe, translate_errors
from helpdesk.admin.integration_test import MSG_CONTACT, check_default, run
from helpdesk.admin.ports import EntityAccess
from helpdesk.admin.service import rules_check, rules_test_result
from helpdesk.admin.settings import AutotaskUpdate, SettingsUpdate
from helpdesk.autotask.errors import PermissionError_, Throttled
from helpdesk.domain.rules import RuleResult, RulesFunctionFailed, RulesRequest, RulesUnavailable
from helpdesk.domain.tenant import Tenant, TicketDefaults
from tests.unit.admin.fakes import FakeGateway, demo_picklists, make_service


def configured_tenant(**defaults: Any) -> tuple[Any, Tenant, FakeGateway]:
    service, repo, gateway, _ = make_service()
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    service.update_settings(
        "acme",
        SettingsUpdate(
            autotask=AutotaskUpdate(
                host="webservices5.autotask.net", api_key=SecretStr("u@d.com:pw"), integration_code="CODE"
            ),
            defaults=TicketDefaults(**defaults),
        ),
    )
    return service, repo.get("acme"), gateway


def by_id(report: Any) -> dict[str, Any]:
    return {c.id: c for c in report.checks}


def test_every_check_passes_on_a_healthy_tenant() -> None:
    service, _, gateway = configured_tenant(priority="High")
    report = service.integration_test("acme")
    assert report.ok, [c for c in report.checks if c.status != "pass"]
    assert gateway.connections[0].api_key == "u@d.com:pw"


def test_one_failing_entity_information_call_fails_only_its_own_lines() -> None:
    service, _, gateway = configured_tenant()
    original = gateway.entity_access

    def access(entity: str) -> EntityAccess:
        if entity == "Companies":
            raise PermissionError_(status=403)
        return original(entity)

    gateway.entity_access = access  # type: ignore[method-assign]
    checks = by_id(service.integration_test("acme"))
    assert checks["perm_companies"].status == "fail"
    assert checks["perm_companies"].message.startswith("There was an error involving permissions in your PSA.")
    assert checks["perm_contacts"].status == "pass"


def test_unverifiable_write_permissions_pass_with_an_explanation() -> None:
    service, _, gateway = configured_tenant()
    gateway.access["Tickets"] = EntityAccess(entity="Tickets", verified=False)
    checks = by_id(service.integration_test("acme"))
    assert checks["perm_tickets_create"].status == "pass"
    assert "could not be checked in advance" in checks["perm_tickets_create"].message
    assert "could not" not in checks["perm_tickets_read"].message


def test_a_contact_lookup_error_keeps_the_products_wording() -> None:
    service, _, gateway = configured_tenant()
    gateway.fail["contact_exists"] = Throttled(status=429)
    checks = by_id(service.integration_test("acme"))
    assert checks["contact"].message.startswith(MSG_CONTACT)


def test_picklist_failure_marks_defaults_failed() -> None:
    service, _, gateway = configured_tenant(priority="High")
    gateway.fail["picklists"] = Throttled(status=429)
    checks = by_id(service.integration_test("acme"))
    assert checks["defaults"].status == "fail"
    assert "limiting" in checks["defaults"].message


def test_undecryptable_key_is_reported_not_raised() -> None:
    service, tenant, _ = configured_tenant()
    broken = tenant.model_copy(update={"autotask": tenant.autotask.model_copy(update={"api_key_ciphertext": "e30="})})
    report, _ = run(broken, lambda: service.gateway(broken), lambda s: (True, "ok"), None)
    assert by_id(report)["settings"].status == "fail"


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("priority", "high", True),
        ("priority", "  High ", True),
        ("priority", "Sunday", False),
        ("queue", "Tier 1 Support", True),
        ("worktype", 29682800, True),
        ("worktype", 1, False),
    ],
)
def test_defaults_resolve_like_the_dispatcher_maps_labels(field: str, value: Any, ok: bool) -> None:
    assert check_default(demo_picklists(), field, value, None)[0] is ok


def test_sub_issue_must_belong_to_the_issue() -> None:
    picklists = demo_picklists()
    assert check_default(picklists, "subIssue", "Printer", "Hardware")[0] is True
    assert check_default(picklists, "subIssue", "Printer", "Software")[0] is False
    assert check_default(picklists, "subIssue", "Printer", None)[0] is False


def test_rejected_default_message_lists_choices() -> None:
    ok, message = check_default(demo_picklists(), "priority", "Sunday", None)
    assert not ok and "Sunday Priority Not Found" in message and "Critical" in message


def test_a_syntax_error_is_shown_with_its_line_and_column() -> None:
    check = rules_check(
        RuleResult.model_validate(
            {
                "status": "ok",
                "valid": False,
                "errors": [{"severity": "error", "code": "syntax", "message": "bad", "line": 2, "column": 5}],
                "warnings": [],
            }
        )
    )
    assert not check.ok and check.errors == [{"message": "bad", "line": 2, "column": 5}]


def test_a_test_run_shows_changes_output_and_helpers() -> None:
    result = rules_test_result(
        RuleResult.model_validate(
            {
                "status": "ok",
                "valid": True,
                "variables": {"priority": "High", "exception": "Rules error on line 2: boom"},
                "changed": ["priority", "exception"],
                "exception": "Rules error on line 2: boom",
                "error": {"severity": "error", "code": "runtime", "line": 2, "message": "boom"},
                "output": ["a", "b"],
                "helpers": {"x": 1},
            }
        )
    )
    assert result.ok
    assert result.changed == {"priority": "High", "exception": "Rules error on line 2: boom"}
    assert result.output == "a\nb" and result.helpers == {"x": 1}


class _Answers:
    def __init__(self, answer: RuleResult | None = None, error: Exception | None = None) -> None:
        self.answer, self.error = answer, error

    def run(self, request: RulesRequest) -> RuleResult:
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (_Answers(RuleResult(status="invalid_request", request_error="unknown rule variable(s): colour")), Invalid),
        (_Answers(RuleResult(status="internal_error")), Upstream),
        (_Answers(error=RulesFunctionFailed("the rules function failed (Unhandled)")), Upstream),
        (_Answers(error=RulesUnavailable("invoking the rules function failed (ClientError)")), Upstream),
    ],
    ids=["refused-422", "crashed-502", "function-error-502", "unreachable-502"],
)
def test_a_refused_request_is_a_422_and_a_failing_rules_function_a_502(rules: _Answers, expected: type) -> None:
    service, tenants, _, _ = make_service(rules=rules)  # type: ignore[arg-type]
    tenants.create(Tenant(tenant_id="acme", name="Acme"))
    with pytest.raises(expected):
        service.validate_rules("acme", "priority = 'High'\n")


def test_unknown_variables_are_refused_before_the_rules_function_is_called() -> None:
    service, tenants, _, rules = make_service()
    tenants.create(Tenant(tenant_id="acme", name="Acme"))
    with pytest.raises(Invalid) as info:
        service.test_rules("acme", "x = 1\n", {"colour": "red"})
    assert str(info.value) == "The rules cannot run on these inputs: unknown rule variable(s): colour"
    assert rules.calls == []


def test_autotask_errors_become_502_with_the_admin_message() -> None:
    with pytest.raises(Upstream) as info, translate_errors():
        raise PermissionError_(status=403, errors=["The logged in Resource does not have the adequate permissions"])
    assert info.value.message.startswith("There was an error involving permissions in your PSA.")
    with pytest.raises(KeyError), translate_errors():
        raise KeyError("not an Autotask error: re-raised as is")


def test_webhook_fields_subscribe_to_status_and_display_the_ticket_number() -> None:
    created: list[tuple[int, int, bool, bool]] = []

    def create(webhook_id: int, field_id: int, *, subscribed: bool, display_always: bool) -> int:
        created.append((webhook_id, field_id, subscribed, display_always))
        return 1

    ids = {"status": 1, "ticketnumber": 2, "title": 3, "priority": 4, "other": 9}
    _subscribe(ids, create, 7, (("status", "priority"), ("ticketnumber", "title", "status")))
    assert (7, 1, True, True) in created and (7, 2, False, True) in created and (7, 4, True, False) in created
    assert all(field != 9 for _, field, _, _ in created)


def test_webhook_fields_fall_back_to_any_field_when_none_match() -> None:
    created: list[tuple[int, bool]] = []
    _subscribe(
        {"zzz": 5},
        lambda w, f, subscribed, display_always: created.append((f, subscribed)),
        1,
        (("status",), ("title",)),
    )
    assert created == [(5, True)]
