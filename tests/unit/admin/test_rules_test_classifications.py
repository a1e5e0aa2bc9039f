"""The admin's rules test run answers ai_categorize like a press does, and shows each classification's scores."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from helpdesk.admin import rules_lambda
from helpdesk.admin.rules_lambda import LambdaRulesRunner
from helpdesk.domain.rules import Classification, ClassificationRequest
from helpdesk.rules.service import RulesService
from helpdesk.triage import Triage

RULES = """r = ai_categorize(msg, ['Printer', 'Network', 'Email'])
if r['best_match'] == 'Printer':
    queue = 'Tier 1 Support'
"""


class InProcessLambda:
    """lambda.invoke of the rules function, run in process (the sandbox's real service)."""

    def __init__(self) -> None:
        self.service = RulesService()
        self.payloads: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        payload = json.loads(kwargs["Payload"])
        self.payloads.append(payload)
        body = self.service.handle(payload).model_dump(mode="json")
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}


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


@pytest.fixture
def fake_lambda(monkeypatch: pytest.MonkeyPatch) -> InProcessLambda:
    fake = InProcessLambda()
    monkeypatch.setattr(rules_lambda.aws, "client", lambda name: fake)
    return fake


def test_a_test_run_classifies_reruns_and_lists_the_scores(fake_lambda: InProcessLambda):
    model = Model()
    outcome = LambdaRulesRunner("rules", Triage(model)).evaluate("acme", RULES, {"msg": "the printer is jammed"})
    assert model.calls == 1 and len(fake_lambda.payloads) == 2
    assert outcome.changed == {"queue": "Tier 1 Support"}
    assert outcome.classifications == [
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


def test_a_model_failure_shows_in_the_test_run_and_the_rules_still_finish(fake_lambda: InProcessLambda):
    outcome = LambdaRulesRunner("rules", Triage(Model(fail=True))).evaluate("acme", RULES, {"msg": "printer"})
    assert outcome.exception is None and outcome.changed == {}
    [shown] = outcome.classifications
    assert shown["best_match"] is None and set(shown["scores"].values()) == {0}
    assert "ThrottlingException" in shown["error"]


def test_rules_without_ai_categorize_run_once(fake_lambda: InProcessLambda):
    model = Model()
    outcome = LambdaRulesRunner("rules", Triage(model)).evaluate("acme", "priority = 'High'\n", {})
    assert model.calls == 0 and len(fake_lambda.payloads) == 1 and outcome.classifications == []


def test_a_replayed_press_is_classified_too_and_shows_its_scores(fake_lambda: InProcessLambda):
    outcome = LambdaRulesRunner("rules", Triage(Model())).run("acme", RULES, {"msg": "printer jam"})
    assert outcome.variables["queue"] == "Tier 1 Support"
    assert "pending_classifications" not in outcome.extra
    [shown] = outcome.extra["classifications"]
    assert shown["scores"]["Printer"] == 97 and shown["best_match"] == "Printer"
