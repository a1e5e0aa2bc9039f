"""Use case: run Dispatcher Rules to the end, answering their ``ai_categorize`` questions outside the sandbox.

The sandbox stops at a question it has no answer for and returns it (``RuleResult.pending_classifications``).
:meth:`Triage.run` answers it (the tenant's cache first, then the model) and runs the rules again with every
answer so far; rules are deterministic on their inputs, so the final run sees exactly the answers the earlier
runs asked for. At most ``MAX_CATEGORIZE_CALLS + 1`` runs: the sandbox refuses more questions than that.

A failed classification (model error, timeout, refusal, no time left) never blocks the ticket: every score is 0
(``best_match`` None) and the failure becomes a "[Submission Errors]" line. Used by the dispatcher (each press)
and by the admin API (rules test run, replay).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from helpdesk.domain.ports import ClassificationCache, Classifier
from helpdesk.domain.rules import MAX_CATEGORIZE_CALLS, Classification, ClassificationRequest, RuleResult

MAX_RUNS: Final = MAX_CATEGORIZE_CALLS + 1
MIN_SECONDS_FOR_A_CALL: Final = 12.0
"""Do not start a model call with less time than this left (the client's worst case is ~10 s)."""
NOT_CONFIGURED: Final = "AI categorization is not configured for this service"


class TriageError(RuntimeError):
    """The rules kept asking after every allowed run (a contract bug, not a tenant mistake)."""


@dataclass
class TriageOutcome:
    result: RuleResult
    """The last run's result (no pending questions unless TriageError was raised)."""
    answers: list[Classification] = field(default_factory=list)
    """Every answer given to the rules, in the order they asked."""
    runs: int = 0
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def classifications(self) -> list[Classification]:
        """The answers the final run used (what decided the routing): our own copies, in the order the rules
        asked; the sandbox's answer only says which (it runs tenant code and is not trusted with their content)."""
        used = {c.key for c in self.result.classifications}
        return [a for a in self.answers if a.key in used] if used else list(self.answers)

    @property
    def submission_errors(self) -> list[str]:
        return [submission_error(c) for c in self.classifications if c.error]


def submission_error(c: Classification) -> str:
    return f"ai_categorize could not classify the text ({c.error}): every score is 0, best_match is None"


class Triage:
    def __init__(
        self,
        classifier: Classifier | None,
        cache: ClassificationCache | None = None,
        *,
        time_left: Callable[[], float] = lambda: math.inf,
        metric: Callable[[str, float], None] = lambda name, value: None,
    ) -> None:
        self.classifier = classifier
        self.cache = cache
        self.time_left = time_left
        self.metric = metric

    def run(
        self,
        tenant_id: str,
        evaluate: Callable[[Sequence[Classification]], RuleResult],
        *,
        time_left: Callable[[], float] | None = None,
    ) -> TriageOutcome:
        """``evaluate(answers)`` runs the rules once with these answers (a RulesRequest's ``classifications``).

        ``time_left`` (default: the one given at construction) is checked before each model call."""
        clock = time_left or self.time_left
        outcome = TriageOutcome(result=evaluate(()), runs=1)
        while outcome.result.pending_classifications:
            if outcome.runs >= MAX_RUNS:
                raise TriageError(f"the rules still asked ai_categorize questions after {MAX_RUNS} runs")
            for request in outcome.result.pending_classifications:
                if any(a.key == request.key for a in outcome.answers):
                    raise TriageError("the rules asked again a question they were given the answer to")
                outcome.answers.append(self._answer(tenant_id, request, outcome, clock))
            outcome.result = evaluate(tuple(outcome.answers))
            outcome.runs += 1
        return outcome

    def _answer(
        self, tenant_id: str, request: ClassificationRequest, outcome: TriageOutcome, time_left: Callable[[], float]
    ) -> Classification:
        if self.cache is not None:
            hit = self.cache.get(tenant_id, request)
            if hit is not None:
                self.metric("ClassificationCacheHits", 1)
                return hit
        if self.classifier is None:
            return Classification.failed(request, NOT_CONFIGURED)
        if time_left() < MIN_SECONDS_FOR_A_CALL:
            return Classification.failed(request, "no time left to call the model", self.classifier.model)
        try:
            answer = self.classifier.classify(request)
        except Exception as exc:  # the port promises not to raise; a bug here must still not block the ticket
            answer = Classification.failed(request, f"the model could not be called ({type(exc).__name__})")
        outcome.model_calls += 1
        outcome.input_tokens += answer.input_tokens
        outcome.output_tokens += answer.output_tokens
        self.metric("ClassifierCalls", 1)
        self.metric("ClassifierInputTokens", answer.input_tokens)
        self.metric("ClassifierOutputTokens", answer.output_tokens)
        if answer.error:
            self.metric("ClassifierFailures", 1)
        elif self.cache is not None:
            self.cache.put(tenant_id, answer)
        return answer


def describe(c: Classification) -> dict[str, Any]:
    """One classification for the admin (test run, replay): question, scores, result, and where it came from."""
    result = c.result()
    return {
        "text": c.text[:200] + ("..." if len(c.text) > 200 else ""),
        "categories": c.categories,
        "scores": result["scores"],
        "best_match": result["best_match"],
        "matches": result["matches"],
        "error": c.error,
        "model": c.model,
        "cached": c.cached,
    }
