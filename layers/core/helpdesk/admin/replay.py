"""Replay Dispatcher Rules on the tenant's real presses before they are saved (and on demand).

A replay runs the draft rules on the inputs stored with the tenant's last presses (up to 50) and on one sample
press built from the tenant's defaults, and compares each result with what the press gets today (the active
rules' result, or the plain inputs when there are no rules): which ticket fields would change, which presses
would be blocked by an intentional `exception`, and every run-time error with its line.

Bounded: at most MAX_PRESSES + 1 presses, each run at most twice (draft, active), a few runs at a time, inside a
time budget well below the admin function's timeout; presses not reached are reported as `not_run`.
Pure use case: the rules engine and the submissions come in behind ports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from helpdesk.domain.rules import READ_WRITE_VARIABLES, RuleDiagnostic, RuleResult
from helpdesk.domain.submission import Contact, Machine, Submission
from helpdesk.domain.tenant import Tenant
from helpdesk.domain.ticket import rule_input

MAX_PRESSES = 50
CONCURRENCY = 4
BUDGET_SECONDS = 12.0  # API Gateway answers 504 after 29 s: leave room for the save around it
MAX_SHOWN_CHARS = 300
SAMPLE_ID = "sample-from-defaults"

PressOutcome = Literal["unchanged", "changed", "blocked", "error", "not_run"]


class FieldChange(BaseModel):
    before: Any = None
    after: Any = None


class RuleErrorView(BaseModel):
    message: str
    line: int | None = None
    column: int | None = None


class PressReplay(BaseModel):
    """One press replayed: what the draft rules would do to it compared with today."""

    submission_id: str = Field(description=f"'{SAMPLE_ID}' for the sample built from the tenant's defaults")
    sample: bool = False
    created_at: datetime | None = None
    email: str = ""
    hostname: str = ""
    subject: str = ""
    outcome: PressOutcome
    changes: dict[str, FieldChange] = Field(
        default_factory=dict, description="ticket variables whose value would differ from today's result"
    )
    exception: str | None = Field(default=None, description="the text an intentional `exception` would show")
    error: RuleErrorView | None = Field(default=None, description="the run-time error or limit, with its line")
    extra: dict[str, Any] = Field(
        default_factory=dict, description="further fields of the rules engine's answer (e.g. classifications)"
    )


class RulesReplay(BaseModel):
    ok: bool = Field(description="the rules compile and ran without an error on every replayed press")
    compiles: bool
    errors: list[dict[str, Any]] = Field(default_factory=list, description="syntax errors (line, column)")
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    compared_with: int = Field(description="the active rules version the results are compared with (0: none)")
    presses: list[PressReplay] = Field(default_factory=list)
    replayed: int = 0
    changed: int = 0
    blocked: int = 0
    failed: int = 0
    not_run: int = 0
    truncated: bool = Field(default=False, description="the time budget ran out before every press was replayed")

    def refusal(self) -> str:
        """Why saving these rules needs a confirmation (for a replay that is not ok)."""
        return f"The rules fail on {self.failed} of {self.replayed} replayed presses (first: {self.first_error()})."

    def first_error(self) -> str:
        for press in self.presses:
            if press.error is not None:
                where = f"line {press.error.line}: " if press.error.line else ""
                return f"{where}{press.error.message}"
        return ""


def sample_press(tenant: Tenant) -> Submission:
    """A press as a typical end user sends it; the tenant's defaults come in through rule_input."""
    return Submission(
        tenant_id=tenant.tenant_id,
        submission_id=SAMPLE_ID,
        contact=Contact(name="Sample User", email="sample.user@example.com"),
        machine=Machine(hostname="SAMPLE-PC", ip="10.0.0.10", mac="00:11:22:33:44:55"),
        msg="My computer is slow since this morning.",
        subject="My computer is slow",
        fingerprint="sample",
    )


def press_variables(tenant: Tenant, press: Submission) -> dict[str, Any]:
    """The variables the dispatcher would give the rules for this press today (current defaults)."""
    return rule_input(
        press,
        tenant.defaults,
        contact_name=press.resolved.contact_name or press.contact.name,
        business_name=press.resolved.business_name or "",
    )


def _shown(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_SHOWN_CHARS:
        return value[: MAX_SHOWN_CHARS - 1] + "…"
    return value


def _error_view(error: RuleDiagnostic | None) -> RuleErrorView | None:
    return RuleErrorView.model_validate(error.view()) if error is not None else None


# RuleResult fields a replay shows itself (or that only describe the run); anything else the engine answers
# (classifications, ...) is shown in PressReplay.extra.
_SHOWN = frozenset(
    {
        "status",
        "action",
        "tenant_id",
        "version",
        "valid",
        "errors",
        "warnings",
        "variables",
        "changed",
        "exception",
        "error",
        "helpers",
        "output",
        "duration_ms",
        "steps",
        "compile_cached",
        "request_error",
    }
)


def _result(outcome: RuleResult | None, inputs: dict[str, Any]) -> dict[str, Any]:
    """Final ticket variables of a run; a failed or missing run leaves the inputs (the press's fallback)."""
    if outcome is None or outcome.error is not None:
        return inputs
    merged = dict(inputs)
    merged.update(outcome.variables or {})
    return merged


def compare(
    press: Submission,
    inputs: dict[str, Any],
    draft: RuleResult | None,
    active: RuleResult | None,
) -> PressReplay:
    view = PressReplay(
        submission_id=press.submission_id,
        sample=press.submission_id == SAMPLE_ID,
        created_at=None if press.submission_id == SAMPLE_ID else press.created_at,
        email=press.contact.email,
        hostname=press.machine.hostname,
        subject=_shown(press.subject),
        outcome="not_run",
    )
    if draft is None:
        return view
    view.extra = draft.model_dump(mode="json", exclude=set(_SHOWN))
    if draft.error is not None:
        view.outcome = "error"
        view.error = _error_view(draft.error)
        return view
    before, after = _result(active, inputs), _result(draft, inputs)
    for name in READ_WRITE_VARIABLES:
        if before.get(name) != after.get(name):
            view.changes[name] = FieldChange(before=_shown(before.get(name)), after=_shown(after.get(name)))
    was_blocked = active.exception if active is not None and active.error is None else None
    if draft.exception:
        view.exception = _shown(draft.exception)
        view.outcome = "blocked"
        if draft.exception != was_blocked:
            view.changes["exception"] = FieldChange(before=was_blocked, after=view.exception)
    else:
        if was_blocked:
            view.changes["exception"] = FieldChange(before=was_blocked, after=None)
        view.outcome = "changed" if view.changes else "unchanged"
    return view


def replay(
    run: Callable[[str, dict[str, Any]], RuleResult],
    tenant: Tenant,
    source: str,
    active_source: str | None,
    presses: Sequence[Submission],
    *,
    compiled: RuleResult,
    active_version: int = 0,
    budget_seconds: float = BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> RulesReplay:
    """Run `source` (already validated: `compiled`) and the active rules on each press with `run(source,
    variables)` (an evaluation, as the dispatcher runs it); compare the results."""
    result = RulesReplay(
        ok=compiled.compiles,
        compiles=compiled.compiles,
        errors=[d.view() for d in compiled.errors],
        warnings=[d.view() for d in compiled.warnings],
        compared_with=active_version if active_source is not None else 0,
    )
    if not compiled.compiles:
        return result
    cases = [(p, press_variables(tenant, p)) for p in [*presses[:MAX_PRESSES], sample_press(tenant)]]
    compare_active = active_source is not None and active_source.strip() != "" and active_source != source
    jobs: dict[Future[RuleResult], tuple[int, str]] = {}
    outcomes: dict[tuple[int, str], RuleResult] = {}
    deadline = clock() + budget_seconds
    pool = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="replay")
    try:
        # the sample first: if the budget runs out, the one press every tenant has was replayed
        order = [len(cases) - 1, *range(len(cases) - 1)]
        for i in order:
            variables = cases[i][1]
            jobs[pool.submit(run, source, variables)] = (i, "draft")
            if compare_active:
                assert active_source is not None
                jobs[pool.submit(run, active_source, variables)] = (i, "active")
        pending = set(jobs)
        while pending:
            left = deadline - clock()
            if left <= 0:
                result.truncated = True
                break
            done, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
            for future in done:
                outcomes[jobs[future]] = future.result()  # an Upstream error fails the whole replay: clear 502
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for i, (press, variables) in enumerate(cases):
        draft = outcomes.get((i, "draft"))
        active = outcomes.get((i, "active")) if compare_active else None
        if compare_active and active is None:
            draft = None  # without today's result there is nothing to compare with: not run
        result.presses.append(compare(press, variables, draft, active))
    for row in result.presses:
        if row.outcome == "not_run":
            result.not_run += 1
            continue
        result.replayed += 1
        result.changed += bool(row.changes) and row.outcome != "error"
        result.blocked += row.outcome == "blocked"
        result.failed += row.outcome == "error"
    # presses the budget did not reach are listed as not_run; only an error found needs the confirmation (a slow
    # rules engine must not make every save ask)
    result.ok = result.compiles and result.failed == 0
    return result
