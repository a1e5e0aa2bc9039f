"""The `rules` function's contract: what callers send through ``lambda.invoke`` and what comes back.

Request (the Lambda event, JSON)::

    {"action": "evaluate" | "validate" | "test",
     "tenant_id": "t-123", "version": "7",            # compiled rules are cached per (tenant_id, version)
     "source": "if '!' in msg:\\n    priority = 'High'\\n",
     "variables": {"msg": "Printer down!", "selections": [], "priority": "Medium", ...}}

* ``evaluate`` (the dispatcher, once per submission): run the rules, return final variables.
* ``validate`` (admin API, on save): syntax errors and forbidden constructs with line/column, plus warnings.
  ``variables`` is ignored.
* ``test`` (admin API, test run on sample inputs): ``validate`` + ``evaluate``, also returning helper variables
  and lines the rules printed.

Response (:class:`RuleResult`, JSON): ``status`` is ``"ok"`` whenever the request was understood, even when
the rules themselves failed (then ``exception`` says why and ``error`` has the line). ``"invalid_request"``
means the event did not match :class:`RulesRequest` (``request_error`` says how); nothing ran.

Callers must treat a non-null ``exception`` as "do not create the ticket; show this text to the end user".

Both sides validate: callers build a :class:`RulesRequest` (so a bad request never leaves them) and read the
answer with ``RuleResult.model_validate`` (helpdesk.adapters.lambda_rules); the function validates the event
again. The dispatcher, the admin API and the ops CLI all use these two models through the `RulesRunner` port
(helpdesk.ports); diagnostics are built once, in the rules function, and read as they are.

``ai_categorize(text, categories)`` (docs/rules.md): the sandbox never calls a model. When rules call it for a
(text, categories) pair whose answer is not in ``classifications``, the run stops there and the result lists
the pair in ``pending_classifications`` (``variables`` is then null). The caller classifies outside the sandbox
and runs the rules again with the answers added (rules are deterministic on their inputs), at most
:data:`MAX_CATEGORIZE_CALLS` + 1 runs per submission.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

READ_ONLY_VARIABLES: Final = ("selections", "hostname", "email", "name", "ip", "mac", "contactName", "businessName")
"""Describe the submission: rules read them, never assign them."""
READ_WRITE_VARIABLES: Final = (
    "msg",
    "subject",
    "append",
    "priority",
    "ticketStatus",
    "queue",
    "type",
    "source",
    "issue",
    "subIssue",
    "category",
    "worktype",
    "priv_append",
)
"""What gets submitted: the final values become the ticket's fields."""
EXCEPTION_VARIABLE: Final = "exception"
RULE_VARIABLES: Final = frozenset((*READ_ONLY_VARIABLES, *READ_WRITE_VARIABLES, EXCEPTION_VARIABLE))

RulesAction = Literal["evaluate", "validate", "test"]


class RulesUnavailable(RuntimeError):
    """The rules function could not be reached (throttled, network, service error): try again later."""

    retryable = True
    retry_after: float | None = None


class RulesFunctionFailed(RuntimeError):
    """The rules function was reached but did not produce a result: it crashed, ran past its timeout, or answered
    with something unreadable. Final for that submission's rules step (repeating it would fail the same way and
    hold a dispatcher slot each time); the dispatcher treats it like rules that raised."""


MAX_SOURCE_CHARS = 100_000
"""The longest rules source (characters) that can be saved, tested or run."""


MAX_CATEGORIZE_TEXT: Final = 4_000
"""Characters of the text ``ai_categorize`` classifies (longer texts are cut to this, at no error)."""
MAX_CATEGORIES: Final = 20
MAX_CATEGORY_CHARS: Final = 100
MAX_CATEGORIZE_CALLS: Final = 3
"""Different (text, categories) pairs one run of the rules may classify (a repeated pair is answered again free)."""
BEST_MATCH_ABOVE: Final = 80
"""``best_match`` is the top category only when its score is above this (the original product's threshold)."""
MATCHES_ABOVE: Final = 94
"""``matches`` lists every category scoring above this."""


def categorize_key(text: str, categories: Sequence[str]) -> str:
    """Stable id of one classification question (what answers are matched and cached by)."""
    blob = json.dumps([text, list(categories)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ClassificationRequest(BaseModel):
    """One question ``ai_categorize`` asked: how well does ``text`` fit each category?"""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(max_length=MAX_CATEGORIZE_TEXT)
    categories: list[str] = Field(min_length=1, max_length=MAX_CATEGORIES)

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("categories must be different")
        for c in value:
            if not c.strip() or len(c) > MAX_CATEGORY_CHARS:
                raise ValueError(f"a category must be 1-{MAX_CATEGORY_CHARS} characters")
        return value

    @property
    def key(self) -> str:
        return categorize_key(self.text, self.categories)


class Classification(ClassificationRequest):
    """An answer: a score 0-100 for every category. ``error`` says why they are all 0 (model failed, refused...)."""

    scores: dict[str, int]
    error: str | None = Field(default=None, max_length=500)
    model: str = Field(default="", max_length=200)
    cached: bool = False
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)

    @field_validator("scores")
    @classmethod
    def _scores(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 0 <= v <= 100 for v in value.values()):
            raise ValueError("scores must be between 0 and 100")
        return value

    def result(self) -> dict[str, Any]:
        """What ``ai_categorize`` returns to the rules."""
        return categorize_result(self.categories, self.scores)

    @classmethod
    def failed(cls, request: ClassificationRequest, error: str, model: str = "") -> Classification:
        return cls(
            text=request.text,
            categories=request.categories,
            scores=dict.fromkeys(request.categories, 0),
            error=error[:500],
            model=model,
        )


def categorize_result(categories: Sequence[str], scores: Mapping[str, int]) -> dict[str, Any]:
    """The original product's result shape: ``scores`` (every category, 0-100), ``best_match`` (the top category
    if its score is above 80, else None; ties go to the category listed first) and ``matches`` (every category
    above 94, best first)."""
    full = {c: max(0, min(100, int(scores.get(c, 0)))) for c in categories}
    best = max(categories, key=lambda c: full[c]) if categories else None
    matches = sorted((c for c in categories if full[c] > MATCHES_ABOVE), key=lambda c: -full[c])
    return {
        "scores": full,
        "best_match": best if best is not None and full[best] > BEST_MATCH_ABOVE else None,
        "matches": matches,
    }


class RulesRequest(BaseModel):
    """The event the `rules` function accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: RulesAction = "evaluate"
    tenant_id: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=64, coerce_numbers_to_str=True)
    source: str = Field(max_length=MAX_SOURCE_CHARS)
    variables: dict[str, JsonValue] = Field(default_factory=dict)
    classifications: list[Classification] = Field(default_factory=list, max_length=MAX_CATEGORIZE_CALLS)
    """Answers to ``ai_categorize`` questions earlier runs left pending (see the module doc)."""

    @field_validator("variables")
    @classmethod
    def _known_variables(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        unknown = sorted(set(value) - RULE_VARIABLES)
        if unknown:
            raise ValueError(f"unknown rule variable(s): {', '.join(unknown)}")
        return value

    @classmethod
    def draft(cls, action: RulesAction, tenant_id: str, source: str, variables: dict[str, Any]) -> RulesRequest:
        """A request for unsaved source: its version is derived from the content, so the function's compile cache
        never mixes drafts (saved rules use their version number)."""
        digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]
        return cls(action=action, tenant_id=tenant_id, version=f"draft-{digest}", source=source, variables=variables)


class RuleDiagnostic(BaseModel):
    """An error or warning about rules, tied to a line/column when it can be (1-based; 0 = not tied)."""

    model_config = ConfigDict(frozen=True)

    severity: Literal["error", "warning"]
    code: str
    message: str
    line: int = 0
    column: int = 0

    def describe(self) -> str:
        """`line 4: ValueError: ...` (the message alone when not tied to a line)."""
        return f"line {self.line}: {self.message}" if self.line else self.message

    def view(self) -> dict[str, Any]:
        """What the admin API shows: the message, and line/column when it is tied to them."""
        return {"message": self.message, **({"line": self.line} if self.line else {})} | (
            {"column": self.column} if self.column else {}
        )


class RuleResult(BaseModel):
    """The `rules` function's answer (its return value, JSON)."""

    model_config = ConfigDict(frozen=True)

    status: Literal["ok", "invalid_request", "internal_error"] = "ok"
    action: RulesAction | None = None
    tenant_id: str | None = None
    version: str | None = None
    valid: bool | None = None
    """validate/test: whether the source can be saved (no errors)."""
    errors: list[RuleDiagnostic] = Field(default_factory=list)
    """validate/test: syntax errors and forbidden constructs."""
    warnings: list[RuleDiagnostic] = Field(default_factory=list)
    """Likely mistakes (``is`` with a literal, misspelled variables, values that are not text, ...)."""
    variables: dict[str, JsonValue] | None = None
    """evaluate/test: final value of every rule variable."""
    changed: list[str] = Field(default_factory=list)
    """evaluate/test: variables whose value differs from the input (``exception`` included)."""
    exception: str | None = None
    """evaluate/test: when set, do not create the ticket; show this text to the end user."""
    error: RuleDiagnostic | None = None
    """evaluate/test: why the rules stopped early (runtime error or limit); ``exception`` is set from it."""
    helpers: dict[str, JsonValue] | None = None
    """test: the helper variables the rules defined."""
    output: list[str] = Field(default_factory=list)
    """test: lines the rules printed."""
    duration_ms: float = 0.0
    """Time spent running the rules (compile excluded)."""
    steps: int = 0
    compile_cached: bool | None = None
    request_error: str | None = None
    """invalid_request/internal_error: what was wrong (no rule ran)."""
    pending_classifications: list[ClassificationRequest] = Field(default_factory=list)
    """evaluate/test: the rules stopped at an ``ai_categorize`` question not answered in the request: classify it
    and run again with the answer (``variables`` is null meanwhile)."""
    classifications: list[Classification] = Field(default_factory=list)
    """evaluate/test: the answers the rules used, in the order they asked."""

    @property
    def blocks_ticket(self) -> bool:
        return self.exception is not None

    @property
    def compiles(self) -> bool:
        """validate/test: the source can be saved (no syntax errors or forbidden constructs)."""
        return (self.valid if self.valid is not None else True) and not self.errors

    @property
    def understood(self) -> bool:
        """The function understood the request and ran (whatever the rules themselves did)."""
        return self.status == "ok"

    def changed_values(self) -> dict[str, JsonValue]:
        """The changed variables with their final values (`exception` included when it was set)."""
        variables = self.variables or {}
        return {name: variables.get(name) for name in self.changed}

    @property
    def pending(self) -> bool:
        return bool(self.pending_classifications)
