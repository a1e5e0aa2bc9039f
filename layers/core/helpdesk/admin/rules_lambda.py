"""RulesRunner over the `rules` function (boto3 lambda.invoke, request/response).

Contract (rules helper): payload {"action": "validate"|"evaluate", "tenant_id", "version", "source",
"variables"}; the answer is a RuleResult document. Parsing here is tolerant of field naming so the admin API keeps
working if the result grows fields.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any

from helpdesk import aws
from helpdesk.admin.errors import FieldError, Invalid, Upstream
from helpdesk.admin.ports import RulesMessage, RulesOutcome
from helpdesk.domain.rules import Classification, RuleResult
from helpdesk.triage import Triage, TriageError, describe

TEST_BUDGET_S = 24.0
"""ai_categorize model calls a test run may start within (API Gateway gives the admin function 29 s)."""


class LambdaRulesRunner:
    def __init__(self, function_name: str, triage: Triage | None = None) -> None:
        self._function = function_name
        self._triage = triage

    def validate(self, tenant_id: str, source: str) -> RulesOutcome:
        return parse_outcome(self._invoke(_request("validate", tenant_id, source, {})))

    def evaluate(self, tenant_id: str, source: str, variables: dict[str, Any]) -> RulesOutcome:
        """A test run. Rules that call ai_categorize are run again with each answer (helpdesk.triage), exactly as
        the dispatcher does on a press; the outcome lists every classification with its scores."""
        return self._triaged("test", tenant_id, source, variables)

    def run(self, tenant_id: str, source: str, variables: dict[str, Any]) -> RulesOutcome:
        """One press replayed (helpdesk.admin.replay); ai_categorize answered the same way as in a test run
        (a press's own question is usually in the tenant's cache already)."""
        return self._triaged("evaluate", tenant_id, source, variables)

    def _triaged(self, action: str, tenant_id: str, source: str, variables: dict[str, Any]) -> RulesOutcome:
        if self._triage is None:
            return parse_outcome(self._invoke(_request(action, tenant_id, source, variables)))
        docs: list[dict[str, Any]] = []

        def run(answers: Sequence[Classification]) -> RuleResult:
            doc = self._invoke(_request(action, tenant_id, source, variables, answers))
            docs.append(doc)
            try:
                return RuleResult.model_validate(doc)
            except ValueError:
                raise Upstream("The rules engine gave an unreadable answer.") from None

        deadline = time.monotonic() + TEST_BUDGET_S
        try:
            outcome = self._triage.run(tenant_id, run, time_left=lambda: deadline - time.monotonic())
        except TriageError:
            raise Upstream("The rules engine kept asking for classifications; try again.") from None
        shown = [describe(c) for c in outcome.classifications]
        parsed = parse_outcome(docs[-1])
        extra = {k: v for k, v in parsed.extra.items() if k not in ("classifications", "pending_classifications")}
        if shown:
            extra["classifications"] = shown
        return dataclasses.replace(parsed, classifications=shown, extra=extra)

    def _invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = aws.client("lambda").invoke(
                FunctionName=self._function,
                InvocationType="RequestResponse",
                Payload=json.dumps(payload).encode("utf-8"),
            )
            body = answer["Payload"].read()
        except Exception as exc:  # botocore errors may echo the payload: never chain them
            raise Upstream(f"The rules engine is not reachable right now ({type(exc).__name__}); try again.") from None
        if answer.get("FunctionError"):
            raise Upstream("The rules engine failed while checking these rules; try again or simplify the rules.")
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            raise Upstream("The rules engine gave an unreadable answer.") from None
        if not isinstance(parsed, dict):
            raise Upstream("The rules engine gave an unreadable answer.")
        return parsed


def _request(
    action: str,
    tenant_id: str,
    source: str,
    variables: dict[str, Any],
    classifications: Sequence[Classification] = (),
) -> dict[str, Any]:
    """Unsaved source gets a content-derived version, so the engine's compile cache never mixes drafts."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]
    request: dict[str, Any] = {
        "action": action,
        "tenant_id": tenant_id,
        "version": f"draft-{digest}",
        "source": source,
        "variables": variables,
    }
    if classifications:
        request["classifications"] = [c.model_dump(mode="json") for c in classifications]
    return request


def _message(item: Any) -> RulesMessage:
    if isinstance(item, str):
        return RulesMessage(message=item)
    if isinstance(item, dict):
        line = item.get("line", item.get("lineno"))
        column = item.get("column", item.get("col"))
        return RulesMessage(
            message=str(item.get("message") or item.get("msg") or "error"),
            line=line if isinstance(line, int) and line > 0 else None,
            column=column if isinstance(column, int) and column > 0 else None,
        )
    return RulesMessage(message=str(item))


# RuleResult fields parse_outcome maps itself (or that only describe the run); anything else the engine adds
# (classifications, ...) is passed through in RulesOutcome.extra.
_MAPPED = frozenset(
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


def parse_outcome(doc: dict[str, Any]) -> RulesOutcome:
    """A RuleResult document (helpdesk.domain.rules) -> RulesOutcome."""
    status = doc.get("status", "ok")
    if status == "invalid_request":
        message = str(doc.get("request_error") or "the request was not understood")
        raise Invalid(f"The rules engine refused the request: {message}", fields=[FieldError("variables", message)])
    if status != "ok":
        raise Upstream("The rules engine failed while checking these rules; try again.")
    errors = [_message(e) for e in doc.get("errors") or []]
    warnings = [_message(w) for w in doc.get("warnings") or []]
    valid = doc.get("valid")
    ok = (bool(valid) if valid is not None else True) and not errors
    variables = doc.get("variables") if isinstance(doc.get("variables"), dict) else {}
    assert isinstance(variables, dict)
    changed_raw = doc.get("changed") or []
    changed = (
        {str(k): variables.get(str(k)) for k in changed_raw}
        if isinstance(changed_raw, list)
        else dict(changed_raw)
        if isinstance(changed_raw, dict)
        else {}
    )
    exception = doc.get("exception")
    runtime = doc.get("error")
    line = runtime.get("line") if isinstance(runtime, dict) else None
    if exception and isinstance(line, int) and line > 0 and f"line {line}" not in str(exception):
        exception = f"{exception} (line {line})"
    if "exception" in changed:
        changed["exception"] = exception
    output = doc.get("output") or []
    helpers = doc.get("helpers") if isinstance(doc.get("helpers"), dict) else {}
    return RulesOutcome(
        error=_message(runtime) if isinstance(runtime, dict) else None,
        extra={k: v for k, v in doc.items() if k not in _MAPPED},
        ok=ok,
        errors=errors,
        warnings=warnings,
        variables=variables,
        changed=changed,
        exception=str(exception) if exception else None,
        output="\n".join(str(o) for o in output) if isinstance(output, list) else str(output),
        helpers=helpers or {},
    )
