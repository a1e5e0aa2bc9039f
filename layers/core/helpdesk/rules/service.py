"""The `rules` function's use case: one event in (see helpdesk.domain.rules), one RuleResult out. Never raises."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from helpdesk.domain.rules import READ_ONLY_VARIABLES, READ_WRITE_VARIABLES, RuleDiagnostic, RuleResult, RulesRequest
from helpdesk.rules import modules
from helpdesk.rules.compiler import Diagnostic, RulesSyntaxError
from helpdesk.rules.engine import Evaluation, RulesEngine
from helpdesk.rules.isolation import HardLimits, ProcessSandbox, Stop
from helpdesk.rules.variables import default_value

DEFAULT_HARD_LIMITS: Final = HardLimits()
STOPPED: Final = "Rules stopped: "
"""Prefix of ``exception`` when an evaluation was ended from outside (time, memory, crash, result size)."""
_VARIABLES: Final = (*READ_ONLY_VARIABLES, *READ_WRITE_VARIABLES)


def _fits(values: list[Any], limit: int) -> bool:
    """Whether the JSON of the result's values can fit in ``limit`` bytes, counted without building it.

    Counts every reference (a list holding one huge string 1,000 times counts it 1,000 times, as JSON would)
    and stops as soon as the count passes the limit, so it is fast for small and for absurd results alike.
    """
    total = 0
    stack = list(values)
    while stack:
        x = stack.pop()
        if type(x) is str:
            total += len(x) + 2
        elif type(x) is dict:
            total += 2 + 4 * len(x)
            stack.extend(x.keys())
            stack.extend(x.values())
        elif type(x) is list:
            total += 2 + len(x)
            stack.extend(x)
        else:
            total += 8
        if total > limit:
            return False
    return True


def _diag(d: Diagnostic) -> RuleDiagnostic:
    return RuleDiagnostic(severity=d.severity, code=d.code, message=d.message, line=d.line, column=d.column)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _fresh_child() -> None:
    """Runs first in every new evaluation process: drop caches a fork inherits (no tenant sees another's)."""
    modules.clear_caches()


class RulesService:
    """Handles `rules` events with one long-lived engine (and its compiled-rules cache).

    Evaluations (``evaluate``/``test``) run in a child process with hard limits (isolation.py) unless
    ``hard_limits`` is None (in-process: only the engine's own checks; for trusted callers such as benchmarks).
    """

    def __init__(
        self, engine: RulesEngine | None = None, *, hard_limits: HardLimits | None = DEFAULT_HARD_LIMITS
    ) -> None:
        self.engine = engine or RulesEngine()
        self.hard_limits = hard_limits
        self._sandbox = (
            ProcessSandbox(
                self._answer_in_child,
                hard_limits,
                on_child_start=_fresh_child,
                memory_error_answer=lambda request: self._encode(self._stopped(request, Stop("memory"))),
            )
            if hard_limits is not None
            else None
        )

    def close(self) -> None:
        """End the evaluation process (it also ends by itself when this process goes away)."""
        if self._sandbox is not None:
            self._sandbox.close()

    def handle(self, event: Mapping[str, Any] | Any) -> RuleResult:
        try:
            request = RulesRequest.model_validate(event)
        except ValidationError as exc:
            return RuleResult(status="invalid_request", request_error=_validation_message(exc))
        try:
            if request.action == "validate":
                return self.validate(request)
            return self.evaluate(request)
        except Exception as exc:  # the contract: a structured answer, never an unhandled crash
            return RuleResult(
                status="internal_error",
                action=request.action,
                tenant_id=request.tenant_id,
                version=request.version,
                request_error=f"{type(exc).__name__}: the rules could not be run",
            )

    def validate(self, request: RulesRequest) -> RuleResult:
        diags = self.engine.validate(request.source)
        errors = [_diag(d) for d in diags if d.severity == "error"]
        return RuleResult(
            action=request.action,
            tenant_id=request.tenant_id,
            version=request.version,
            valid=not errors,
            errors=errors,
            warnings=[_diag(d) for d in diags if d.severity == "warning"],
        )

    def evaluate(self, request: RulesRequest) -> RuleResult:
        if self._sandbox is None:
            return self._evaluate_here(request)
        # Compile here first (cached per tenant version): a freshly forked child inherits the compiled code.
        before = self.engine.misses
        try:
            self.engine.compile(request.tenant_id, request.version, request.source)
            compiles = True
        except RulesSyntaxError:
            compiles = False
        cached = self.engine.misses == before
        if not cached:
            self._sandbox.retire()  # a fresh fork inherits the new compiled code (the child would compile it again)
        answer = self._sandbox.run(request.tenant_id, request)
        if isinstance(answer, Stop):
            return self._stopped(request, answer, valid=compiles, cached=cached)
        try:
            result = RuleResult.model_validate_json(answer)
        except ValidationError:
            self._sandbox.retire()
            return self._stopped(request, Stop("crash"), valid=compiles, cached=cached)
        if result.error is not None and result.error.code == "limit":
            self._sandbox.retire()  # a limit was hit inside: start the next evaluation in a fresh process
        return result.model_copy(update={"compile_cached": cached})

    def _evaluate_here(self, request: RulesRequest) -> RuleResult:
        test = request.action == "test"
        before = self.engine.misses
        ev = self.engine.evaluate(
            request.tenant_id,
            request.version,
            request.source,
            request.variables,
            include_helpers=test,
            classifications=request.classifications,
        )
        cached = self.engine.misses == before
        errors: list[RuleDiagnostic] = []
        valid: bool | None = None
        if test:
            all_diags = self.engine.validate(request.source)
            errors = [_diag(d) for d in all_diags if d.severity == "error"]
            valid = not errors
        limit = (self.hard_limits or DEFAULT_HARD_LIMITS).max_result_bytes
        if not _fits(
            [
                None if ev.pending else ev.variables,
                ev.helpers if test else None,
                ev.output if test else None,
                ev.exception,
            ],
            limit,
        ):
            return self._too_large(request, limit, valid)
        return self._result(request, ev, valid=valid, errors=errors, cached=cached)

    # ---------------------------------------------------------------------------------- in the evaluation process
    def _answer_in_child(self, request: RulesRequest) -> bytes:
        try:
            result = self._evaluate_here(request)
        except Exception:
            result = RuleResult(
                status="internal_error",
                action=request.action,
                tenant_id=request.tenant_id,
                version=request.version,
                request_error="the rules could not be run",
            )
        return self._encode(result)

    def _encode(self, result: RuleResult) -> bytes:
        """The answer as JSON, or a stop when the JSON exceeds the result limit (measured on the bytes)."""
        limit = (self.hard_limits or DEFAULT_HARD_LIMITS).max_result_bytes
        data = result.model_dump_json().encode()
        if len(data) > limit:
            request = RulesRequest.model_construct(
                action=result.action or "evaluate",
                tenant_id=result.tenant_id or "",
                version=result.version or "",
                source="",
                variables={},
            )
            data = self._too_large(request, limit, result.valid).model_dump_json().encode()
        return data

    def _too_large(self, request: RulesRequest, limit: int, valid: bool | None) -> RuleResult:
        return self._stopped(request, Stop("output", f"the result is larger than {limit:,} bytes as JSON"), valid=valid)

    # ------------------------------------------------------------------------------------------------ hard stops
    def _stopped(
        self, request: RulesRequest, stop: Stop, *, valid: bool | None = None, cached: bool | None = None
    ) -> RuleResult:
        """The answer for an evaluation ended from outside: status ok, ``exception`` = "Rules stopped: ..."."""
        limits = self.engine.limits
        hard = self.hard_limits or DEFAULT_HARD_LIMITS
        message = {
            "time": f"time limit exceeded: rules may run for at most {limits.max_seconds:g} s",
            "memory": f"memory limit exceeded: rules may use at most {hard.memory_mb} MB",
            "crash": "the rules crashed the sandbox (for example with data nested too deeply) and were stopped",
        }.get(stop.reason, stop.detail)
        values = {name: request.variables.get(name, default_value(name)) for name in _VARIABLES}
        return RuleResult(
            action=request.action,
            tenant_id=request.tenant_id,
            version=request.version,
            valid=valid if request.action == "test" else None,
            variables=values,
            changed=["exception"],
            exception=STOPPED + message,
            error=RuleDiagnostic(severity="error", code="limit", message=message),
            compile_cached=cached,
        )

    @staticmethod
    def _result(
        request: RulesRequest, ev: Evaluation, *, valid: bool | None, errors: list[RuleDiagnostic], cached: bool
    ) -> RuleResult:
        test = request.action == "test"
        if ev.pending:  # stopped at an unanswered ai_categorize: nothing here may be submitted
            return RuleResult(
                action=request.action,
                tenant_id=request.tenant_id,
                version=request.version,
                valid=valid,
                errors=errors,
                warnings=[_diag(d) for d in ev.warnings],
                variables=None,
                output=ev.output if test else [],
                duration_ms=round(ev.duration_ms, 3),
                steps=ev.steps,
                compile_cached=cached,
                pending_classifications=ev.pending,
                classifications=ev.classifications,
            )
        return RuleResult(
            action=request.action,
            tenant_id=request.tenant_id,
            version=request.version,
            valid=valid,
            errors=errors,
            warnings=[_diag(d) for d in ev.warnings],
            variables=ev.variables,
            changed=ev.changed,
            exception=ev.exception,
            error=_diag(ev.error) if ev.error is not None else None,
            helpers=ev.helpers if test else None,
            output=ev.output if test else [],
            duration_ms=round(ev.duration_ms, 3),
            steps=ev.steps,
            compile_cached=cached,
            classifications=ev.classifications,
        )
