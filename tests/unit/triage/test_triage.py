"""The triage loop: answers the rules' ai_categorize questions outside the sandbox, never blocking the ticket."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from helpdesk.domain.rules import Classification, ClassificationRequest, RuleResult
from helpdesk.rules.service import RulesService
from helpdesk.triage import MAX_RUNS, NOT_CONFIGURED, Triage, TriageError

TWO_QUESTIONS = """r = ai_categorize(msg, ['Printer', 'Network'])
s = ai_categorize(subject, ['Urgent', 'Routine'])
if r['best_match'] == 'Printer' and s['best_match'] == 'Urgent':
    queue = 'Tier 1 Support'
"""


class FakeClassifier:
    model = "fake-model"

    def __init__(self, scores: dict[str, int] | None = None, *, fail: Exception | None = None) -> None:
        self.scores = scores or {}
        self.fail = fail
        self.asked: list[ClassificationRequest] = []

    def classify(self, request: ClassificationRequest) -> Classification:
        self.asked.append(request)
        if self.fail is not None:
            raise self.fail
        return Classification(
            text=request.text,
            categories=request.categories,
            scores={c: self.scores.get(c, 0) for c in request.categories},
            model=self.model,
            input_tokens=100,
            output_tokens=20,
        )


class DictCache:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Classification] = {}

    def get(self, tenant_id: str, request: ClassificationRequest) -> Classification | None:
        hit = self.items.get((tenant_id, request.key))
        return hit.model_copy(update={"cached": True}) if hit else None

    def put(self, tenant_id: str, answer: Classification) -> None:
        self.items[(tenant_id, answer.key)] = answer


def rules_runner(source: str, msg: str = "printer jammed", subject: str = "urgent!"):
    service = RulesService()
    runs: list[int] = []

    def evaluate(answers: Sequence[Classification]) -> RuleResult:
        runs.append(len(answers))
        return service.handle(
            {
                "tenant_id": "t-1",
                "version": "1",
                "source": source,
                "variables": {"msg": msg, "subject": subject},
                "classifications": [a.model_dump(mode="json") for a in answers],
            }
        )

    return evaluate, runs


def test_each_question_is_classified_once_and_the_rules_rerun_with_every_answer():
    model = FakeClassifier({"Printer": 96, "Urgent": 88})
    evaluate, runs = rules_runner(TWO_QUESTIONS)
    outcome = Triage(model).run("t-1", evaluate)
    assert runs == [0, 1, 2] and outcome.runs == 3
    assert [q.categories for q in model.asked] == [["Printer", "Network"], ["Urgent", "Routine"]]
    assert outcome.result.variables is not None and outcome.result.variables["queue"] == "Tier 1 Support"
    assert (outcome.model_calls, outcome.input_tokens, outcome.output_tokens) == (2, 200, 40)
    assert [c.scores for c in outcome.classifications] == [{"Printer": 96, "Network": 0}, {"Urgent": 88, "Routine": 0}]
    assert outcome.submission_errors == []


def test_cached_answers_are_reused_per_tenant_and_not_across_tenants():
    model, cache = FakeClassifier({"Printer": 96, "Urgent": 88}), DictCache()
    evaluate, _ = rules_runner(TWO_QUESTIONS)
    Triage(model, cache).run("t-1", evaluate)
    second = Triage(model, cache).run("t-1", evaluate)
    assert len(model.asked) == 2 and second.model_calls == 0
    assert all(c.cached for c in second.classifications)
    Triage(model, cache).run("t-2", evaluate)
    assert len(model.asked) == 4


@pytest.mark.parametrize("failure", [RuntimeError("boom"), TimeoutError()])
def test_a_failing_model_scores_zero_and_becomes_a_submission_error_not_a_block(failure: Exception):
    cache = DictCache()
    evaluate, _ = rules_runner(TWO_QUESTIONS)
    outcome = Triage(FakeClassifier(fail=failure), cache).run("t-1", evaluate)
    assert outcome.result.exception is None and outcome.result.variables is not None
    assert outcome.result.variables["queue"] == ""  # best_match None: the rule did not fire
    assert all(set(c.scores.values()) == {0} and c.error for c in outcome.classifications)
    assert len(outcome.submission_errors) == 2
    assert "every score is 0" in outcome.submission_errors[0]
    assert cache.items == {}  # failures are not cached


def test_without_a_model_the_rules_still_finish_with_zero_scores():
    evaluate, _ = rules_runner(TWO_QUESTIONS)
    outcome = Triage(None).run("t-1", evaluate)
    assert outcome.result.variables is not None
    assert all(c.error == NOT_CONFIGURED for c in outcome.classifications)


def test_no_model_call_is_started_without_the_time_for_it():
    model = FakeClassifier({"Printer": 96})
    evaluate, _ = rules_runner(TWO_QUESTIONS)
    outcome = Triage(model, time_left=lambda: 5.0).run("t-1", evaluate)
    assert model.asked == [] and "no time left" in outcome.submission_errors[0]


def test_rules_that_never_finish_asking_are_a_contract_error_not_an_endless_loop():
    calls = 0

    def evaluate(answers: Sequence[Classification]) -> RuleResult:
        nonlocal calls
        calls += 1
        return RuleResult(pending_classifications=[ClassificationRequest(text=f"q{calls}", categories=["A"])])

    with pytest.raises(TriageError):
        Triage(FakeClassifier()).run("t-1", evaluate)
    assert calls == MAX_RUNS


def test_what_is_recorded_comes_from_our_answers_not_from_the_sandboxs_copy():
    model = FakeClassifier({"Printer": 96})
    evaluate, _ = rules_runner(TWO_QUESTIONS)

    def forging(answers: Sequence[Classification]) -> RuleResult:
        result = evaluate(answers)
        forged = [c.model_copy(update={"scores": dict.fromkeys(c.categories, 100), "error": "x"}) for c in answers]
        return result.model_copy(update={"classifications": forged})

    outcome = Triage(model).run("t-1", forging)
    assert [c.scores["Printer"] for c in outcome.classifications[:1]] == [96]
    assert all(c.error is None for c in outcome.classifications)
