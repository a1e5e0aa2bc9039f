"""ai_categorize in the rules language: the original product's result shape, answered from the request only."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.domain.rules import MAX_CATEGORIZE_CALLS, Classification, categorize_result
from helpdesk.rules import compile_rules, evaluate, validate
from helpdesk.rules.service import RulesService

from .conftest import SAMPLE

CATS = ["Printer", "Network", "Email"]
ORIGINAL = """r = ai_categorize(msg, ['Printer', 'Network', 'Email'])
if r['best_match'] == 'Printer':
    queue = 'Tier 1 Support'
"""


def answer(text: str, categories: list[str], **scores: int) -> Classification:
    return Classification(text=text, categories=categories, scores={c: scores.get(c, 0) for c in categories})


def run(source: str, answers: list[Classification] = (), **variables: Any) -> Any:  # type: ignore[assignment]
    return evaluate(compile_rules(source), {**SAMPLE, **variables}, classifications=answers)


@pytest.mark.parametrize(
    ("scores", "best", "matches"),
    [
        ({"Printer": 81, "Network": 10, "Email": 0}, "Printer", []),
        ({"Printer": 80, "Network": 10, "Email": 0}, None, []),
        ({"Printer": 95, "Network": 99, "Email": 94}, "Network", ["Network", "Printer"]),
        ({"Printer": 90, "Network": 90, "Email": 0}, "Printer", []),  # a tie goes to the category listed first
        ({}, None, []),
    ],
)
def test_result_has_the_original_shape_and_thresholds(scores: dict[str, int], best: str | None, matches: list[str]):
    result = categorize_result(CATS, scores)
    assert result == {"scores": {c: scores.get(c, 0) for c in CATS}, "best_match": best, "matches": matches}


def test_an_unanswered_question_stops_the_rules_and_is_returned_pending():
    ev = run(ORIGINAL + "priority = 'High'\n")
    assert ev.error is None and ev.exception is None
    assert [(p.text, p.categories) for p in ev.pending] == [(SAMPLE["msg"], CATS)]
    assert ev.variables["priority"] == "Medium"  # stopped before the next line


def test_the_answer_from_the_request_routes_like_the_original_example():
    ev = run(ORIGINAL, [answer(SAMPLE["msg"], CATS, Printer=97, Network=5)])
    assert ev.pending == [] and ev.error is None
    assert ev.variables["queue"] == "Tier 1 Support"
    assert [c.scores for c in ev.classifications] == [{"Printer": 97, "Network": 5, "Email": 0}]


def test_scores_and_matches_are_readable_by_rules():
    src = "r = ai_categorize(msg, ['Printer', 'Network', 'Email'])\npriv_append = f\"{r['scores']['Network']} {r['matches']}\"\n"
    ev = run(src, [answer(SAMPLE["msg"], CATS, Printer=96, Network=42)])
    assert ev.variables["priv_append"] == "42 ['Printer']"


def test_asking_the_same_question_again_costs_nothing_and_gets_the_same_answer():
    src = (
        "\n".join(["r = ai_categorize(msg, ['Printer', 'Network', 'Email'])"] * 5) + "\nqueue = str(r['best_match'])\n"
    )
    ev = run(src, [answer(SAMPLE["msg"], CATS, Printer=99)])
    assert ev.variables["queue"] == "Printer" and len(ev.classifications) == 1


def test_more_different_questions_than_the_limit_stop_the_rules_with_a_clear_error():
    texts = [f"text {i}" for i in range(MAX_CATEGORIZE_CALLS + 1)]
    src = "for t in " + repr(texts) + ":\n    r = ai_categorize(t, ['A', 'B'])\n"
    answers = [answer(t, ["A", "B"], A=50) for t in texts[:MAX_CATEGORIZE_CALLS]]
    ev = run(src, answers)
    assert ev.error is not None and ev.error.code == "limit"
    assert "at most 3 different" in (ev.exception or "")


def test_blank_text_scores_zero_without_asking_anyone():
    ev = run("r = ai_categorize(msg, ['A', 'B'])\nqueue = str(r['best_match'])\n", msg="   ")
    assert ev.pending == [] and ev.variables["queue"] == "None"


def test_long_texts_are_cut_to_the_documented_limit():
    ev = run("r = ai_categorize(msg, ['A'])\n", msg="x" * 10_000)
    assert len(ev.pending[0].text) == 4_000


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("ai_categorize(msg, 'Printer')", "categories must be a list"),
        ("ai_categorize(3, ['A'])", "text must be a string"),
        ("ai_categorize(msg, [])", "at least one category"),
        ("ai_categorize(msg, ['A', ''])", "cannot be empty"),
        ("ai_categorize(msg, [str(i) for i in range(21)])", "at most 20 categories"),
        ("ai_categorize(msg, ['A', 3])", "must be strings"),
    ],
)
def test_bad_arguments_are_rule_errors_with_the_line(call: str, message: str):
    ev = run(f"priority = 'High'\nr = {call}\n")
    assert ev.error is not None and ev.error.line == 2
    assert message in (ev.exception or "")


def test_duplicate_categories_are_asked_once():
    ev = run("r = ai_categorize(msg, ['A', 'B', 'A'])\n")
    assert ev.pending[0].categories == ["A", "B"]


def test_validation_knows_the_function():
    assert [d for d in validate(ORIGINAL) if d.code == "undefined-name"] == []


def test_the_rules_service_returns_pending_questions_without_variables_then_the_final_result():
    service = RulesService()
    event = {"tenant_id": "t-1", "version": "1", "source": ORIGINAL, "variables": {"msg": "printer jam"}}
    first = service.handle(event)
    assert first.pending and first.variables is None and first.status == "ok"
    cls = answer("printer jam", CATS, Printer=90)
    second = service.handle({**event, "classifications": [cls.model_dump(mode="json")]})
    assert not second.pending and second.variables is not None
    assert second.variables["queue"] == "Tier 1 Support"
    assert second.classifications[0].scores["Printer"] == 90


def test_the_rules_service_refuses_more_answers_than_questions_allowed():
    cls = answer("x", ["A"], A=1).model_dump(mode="json")
    event = {"tenant_id": "t-1", "version": "1", "source": "pass\n", "classifications": [cls] * 4}
    assert RulesService().handle(event).status == "invalid_request"
