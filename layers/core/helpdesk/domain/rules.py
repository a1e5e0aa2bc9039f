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
"""

from __future__ import annotations

from typing import Final, Literal

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


class RulesFunctionFailed(RuntimeError):
    """The rules function was reached but did not produce a result: it crashed, ran past its timeout, or answered
    with something unreadable. Final for that submission's rules step (repeating it would fail the same way and
    hold a dispatcher slot each time); the dispatcher treats it like rules that raised."""


MAX_SOURCE_CHARS = 100_000


class RulesRequest(BaseModel):
    """The event the `rules` function accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: RulesAction = "evaluate"
    tenant_id: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=64, coerce_numbers_to_str=True)
    source: str = Field(max_length=MAX_SOURCE_CHARS)
    variables: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("variables")
    @classmethod
    def _known_variables(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        unknown = sorted(set(value) - RULE_VARIABLES)
        if unknown:
            raise ValueError(f"unknown rule variable(s): {', '.join(unknown)}")
        return value


class RuleDiagnostic(BaseModel):
    """An error or warning about rules, tied to a line/column when it can be (1-based; 0 = not tied)."""

    model_config = ConfigDict(frozen=True)

    severity: Literal["error", "warning"]
    code: str
    message: str
    line: int = 0
    column: int = 0


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

    @property
    def blocks_ticket(self) -> bool:
        return self.exception is not None
