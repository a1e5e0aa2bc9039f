"""The `rules` function's use case: one event in (see helpdesk.domain.rules), one RuleResult out. Never raises."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

from pydantic import ValidationError

from helpdesk.domain.rules import RuleDiagnostic, RuleResult, RulesRequest
from helpdesk.rules.compiler import Diagnostic
from helpdesk.rules.engine import Evaluation, RulesEngine
from helpdesk.rules.runtime import RulesLimitError


def _diag(d: Diagnostic) -> RuleDiagnostic:
    return RuleDiagnostic(severity=d.severity, code=d.code, message=d.message, line=d.line, column=d.column)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


@contextmanager
def hard_time_limit(seconds: float) -> Iterator[None]:
    """Backstop for the in-band wall-clock checks: SIGALRM interrupts rule code stuck in a long statement.

    Only in the main thread (where Lambda runs handlers); elsewhere it does nothing. The previous handler and
    timer (e.g. pytest-timeout's) are restored.
    """
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return
    armed = True

    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        if armed:
            raise RulesLimitError(f"time limit exceeded: rules may run for at most {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    old_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_timer[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, *old_timer)


class RulesService:
    """Handles `rules` events with one long-lived engine (and its compiled-rules cache)."""

    def __init__(self, engine: RulesEngine | None = None, *, hard_limit_factor: float = 2.0) -> None:
        self.engine = engine or RulesEngine()
        self.hard_limit_seconds = self.engine.limits.max_seconds * hard_limit_factor

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
        test = request.action == "test"
        before = self.engine.misses
        with hard_time_limit(self.hard_limit_seconds):
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
        return self._result(request, ev, valid=valid, errors=errors, cached=cached)

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
