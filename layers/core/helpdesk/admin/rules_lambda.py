"""RulesRunner over the `rules` function (boto3 lambda.invoke, request/response).

Contract (rules helper): payload {"action": "validate"|"evaluate", "tenant_id", "version", "source",
"variables"}; the answer is a RuleResult document. Parsing here is tolerant of field naming so the admin API keeps
working if the result grows fields.
"""

from __future__ import annotations

import json
from typing import Any

from helpdesk import aws
from helpdesk.admin.errors import Upstream
from helpdesk.admin.ports import RulesMessage, RulesOutcome


class LambdaRulesRunner:
    def __init__(self, function_name: str) -> None:
        self._function = function_name

    def validate(self, tenant_id: str, source: str) -> RulesOutcome:
        return parse_outcome(
            self._invoke(
                {"action": "validate", "tenant_id": tenant_id, "version": 0, "source": source, "variables": {}}
            )
        )

    def evaluate(self, tenant_id: str, source: str, variables: dict[str, Any]) -> RulesOutcome:
        return parse_outcome(
            self._invoke(
                {"action": "evaluate", "tenant_id": tenant_id, "version": 0, "source": source, "variables": variables}
            )
        )

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


def _message(item: Any) -> RulesMessage:
    if isinstance(item, str):
        return RulesMessage(message=item)
    if isinstance(item, dict):
        line = item.get("line", item.get("lineno"))
        column = item.get("column", item.get("col", item.get("offset")))
        return RulesMessage(
            message=str(item.get("message") or item.get("msg") or item.get("text") or "error"),
            line=int(line) if isinstance(line, int) else None,
            column=int(column) if isinstance(column, int) else None,
        )
    return RulesMessage(message=str(item))


def parse_outcome(doc: dict[str, Any]) -> RulesOutcome:
    errors_raw = doc.get("errors") or []
    if isinstance(doc.get("error"), dict | str) and not errors_raw:
        errors_raw = [doc["error"]]
    if doc.get("syntax_error"):
        errors_raw = [doc["syntax_error"], *errors_raw]
    errors = [_message(e) for e in errors_raw if e]
    warnings = [_message(w) for w in doc.get("warnings") or []]
    ok_value = doc.get("ok")
    ok = bool(ok_value) if ok_value is not None else not errors
    variables = doc.get("variables") or doc.get("result") or {}
    changed = doc.get("changed") or doc.get("changes") or {}
    if isinstance(changed, list):
        changed = {str(k): variables.get(str(k)) for k in changed} if isinstance(variables, dict) else {}
    exception = doc.get("exception")
    output = doc.get("output") or doc.get("stdout") or ""
    if isinstance(output, list):
        output = "\n".join(str(o) for o in output)
    return RulesOutcome(
        ok=ok and not errors,
        errors=errors,
        warnings=warnings,
        variables=variables if isinstance(variables, dict) else {},
        changed=changed if isinstance(changed, dict) else {},
        exception=str(exception) if exception else None,
        output=str(output),
    )
