"""``ai_categorize(text, categories)`` inside the sandbox: answered from the request, never by calling a model.

The sandbox has no network and no permissions, so the answers come in with the request
(``RulesRequest.classifications``). A question without an answer raises :class:`ClassificationPending`, which
the engine turns into ``RuleResult.pending_classifications``: the caller (dispatcher, admin test run) classifies
outside the sandbox and runs the rules again. This module depends on nothing but the domain contract, so it works
however the evaluation is hosted (in process or in a child process): :data:`ANSWERS` is reset by the engine right
before each run, in the process that runs the rule code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from helpdesk.domain.rules import (
    MAX_CATEGORIES,
    MAX_CATEGORIZE_CALLS,
    MAX_CATEGORIZE_TEXT,
    MAX_CATEGORY_CHARS,
    Classification,
    ClassificationRequest,
    categorize_key,
)


class ClassificationPending(Exception):
    """The rules asked a question whose answer is not in the request: stop, and ask the caller to classify it.

    Rule code cannot catch it (``try`` is refused by the compiler)."""

    def __init__(self, request: ClassificationRequest) -> None:
        super().__init__("ai_categorize needs a classification")
        self.request = request


class CategorizeLimitError(Exception):
    """Too many different questions in one run. The message is shown to the tenant as is."""


class Answers:
    """The answers one run may use, and which it used (reset per run by the engine)."""

    __slots__ = ("asked", "by_key", "used")

    def __init__(self) -> None:
        self.by_key: dict[str, Classification] = {}
        self.asked: set[str] = set()
        self.used: list[Classification] = []

    def start(self, answers: Iterable[Classification]) -> None:
        self.by_key = {a.key: a for a in answers}
        self.asked = set()
        self.used = []


ANSWERS: Final = Answers()


def _question(text: Any, categories: Any) -> tuple[str, list[str]]:
    if not isinstance(text, str):
        raise TypeError(f"ai_categorize() text must be a string, not {type(text).__name__}")
    if not isinstance(categories, list | tuple):
        raise TypeError(f"ai_categorize() categories must be a list of strings, not {type(categories).__name__}")
    if not categories:
        raise ValueError("ai_categorize() needs at least one category")
    cats: list[str] = []
    for c in categories:
        if not isinstance(c, str):
            raise TypeError(f"ai_categorize() categories must be strings, not {type(c).__name__}")
        if not c.strip():
            raise ValueError("ai_categorize() categories cannot be empty")
        if len(c) > MAX_CATEGORY_CHARS:
            raise ValueError(f"ai_categorize() category too long (at most {MAX_CATEGORY_CHARS} characters)")
        if c not in cats:
            cats.append(c)
    if len(cats) > MAX_CATEGORIES:
        raise ValueError(f"ai_categorize() takes at most {MAX_CATEGORIES} categories (got {len(cats)})")
    return text[:MAX_CATEGORIZE_TEXT], cats


def ai_categorize(text: Any, categories: Any) -> dict[str, Any]:
    """The rules builtin: ``{'scores': {category: 0-100}, 'best_match': str | None, 'matches': [str]}``."""
    text, cats = _question(text, categories)
    if not text.strip():  # nothing to classify: no model call, every score 0
        return Classification(text=text, categories=cats, scores=dict.fromkeys(cats, 0)).result()
    key = categorize_key(text, cats)
    state = ANSWERS
    if key not in state.asked:
        if len(state.asked) >= MAX_CATEGORIZE_CALLS:
            raise CategorizeLimitError(
                f"ai_categorize limit exceeded: rules may classify at most {MAX_CATEGORIZE_CALLS} different "
                "texts or category lists per submission"
            )
        state.asked.add(key)
    answer = state.by_key.get(key)
    if answer is None:
        raise ClassificationPending(ClassificationRequest(text=text, categories=cats))
    if all(u.key != key for u in state.used):
        state.used.append(answer)
    return answer.result()
