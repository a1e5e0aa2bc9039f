"""The admin's rules test run and replay answer ai_categorize like a press does, and show each classification."""

from __future__ import annotations

import pytest

from helpdesk.admin.service import AdminService
from helpdesk.domain.rules import Classification, ClassificationRequest, RuleResult, RulesRequest
from helpdesk.domain.tenant import Tenant
from helpdesk.rules.service import RulesService
from helpdesk.triage import Triage

from .fakes import FakeGateway, FakeSecretBox, MemoryTenants

RULES = """r = ai_categorize(msg, ['Printer', 'Network', 'Email'])
if r['best_match'] == 'Printer':
    queue = 'Tier 1 Support'
"""


class SandboxRules:
    """The rules function's real service, in process."""

    def __init__(self) -> None:
        self.service = RulesService()
        self.requests: list[RulesRequest] = []

    def run(self, request: RulesRequest) -> RuleResult:
        self.requests.append(request)
        return self.service.handle(request.model_dump(mode="json"))


class Model:
    model = "test-model"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls = 0

    def classify(self, request: ClassificationRequest) -> Classification:
        self.calls += 1
        if self.fail:
            return Classification.failed(request, "the model could not be called (ThrottlingException)", self.model)
        scores = {"Printer": 97, "Network": 20, "Email": 3}
        return Classification(text=request.text, categories=request.categories, scores=scores, model=self.model)


def service(model: Model | None) -> tuple[AdminService, SandboxRules]:
    tenants, rules = MemoryTenants(), SandboxRules()
    tenants.create(Tenant(tenant_id="acme", name="Acme"))
    triage = Triage(model) if model is not None else None
    admin = AdminService(tenants=tenants, secrets=FakeSecretBox(), rules=rules, autotask=FakeGateway(), triage=triage)
    return admin, rules


def test_a_test_run_classifies_reruns_and_lists_the_scores():
    model = Model()
    admin, rules = service(model)
    result = admin.test_rules("acme", RULES, {"msg": "the printer is jammed"})
    assert model.calls == 1 and len(rules.requests) == 2
    assert result.changed == {"queue": "Tier 1 Support"}
    assert result.classifications == [
        {
            "text": "the printer is jammed",
            "categories": ["Printer", "Network", "Email"],
            "scores": {"Printer": 97, "Network": 20, "Email": 3},
            "best_match": "Printer",
            "matches": ["Printer"],
            "error": None,
            "model": "test-model",
            "cached": False,
        }
    ]


def test_a_model_failure_shows_in_the_test_run_and_the_rules_still_finish():
    admin, _ = service(Model(fail=True))
    result = admin.test_rules("acme", RULES, {"msg": "printer"})
    assert result.exception is None and result.changed == {}
    [shown] = result.classifications
    assert shown["best_match"] is None and set(shown["scores"].values()) == {0}
    assert "ThrottlingException" in shown["error"]


def test_rules_without_ai_categorize_run_once():
    model = Model()
    admin, rules = service(model)
    result = admin.test_rules("acme", "priority = 'High'\n", {})
    assert model.calls == 0 and len(rules.requests) == 1 and result.classifications == []


@pytest.mark.parametrize("with_model", [True, False])
def test_a_replayed_press_is_classified_too_and_shows_its_scores(with_model: bool):
    admin, _ = service(Model() if with_model else None)
    replayed = admin.replay_rules("acme", RULES)
    [sample] = replayed.presses
    if with_model:
        [shown] = sample.extra["classifications"]
        assert shown["scores"] == {"Printer": 97, "Network": 20, "Email": 3}
        assert sample.extra["pending_classifications"] == []
    else:  # without a triage the run stops at the question: the replay shows it as pending, not as a result
        assert sample.extra["pending_classifications"][0]["categories"] == ["Printer", "Network", "Email"]
