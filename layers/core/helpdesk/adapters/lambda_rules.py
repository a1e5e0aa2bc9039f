"""Lambda adapter for the rules sandbox: the dispatcher invokes the `rules` function synchronously.

The payload is a RulesRequest (action "evaluate", tenant_id, version, source, variables); the answer a
RuleResult (variables, changed, exception, warnings). A rule that raises is NOT an error here: the sandbox
reports it as `error`. Two kinds of invoke failure are told apart:

- the function could not be reached (throttled, network, service error): `RulesUnavailable`, retry later;
- the function ran and failed (crash, timeout: `FunctionError`, a read timeout, an unreadable answer):
  `RulesFunctionFailed`, final for the submission's rules step (no retry storm; the ticket gets the defaults).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ReadTimeoutError

from helpdesk import aws
from helpdesk.domain.rules import RulesFunctionFailed


class RulesUnavailable(RuntimeError):
    """The rules function could not be invoked or crashed; retry the work item later."""

    retryable = True
    retry_after: float | None = None


class LambdaRulesRunner:
    def __init__(self, function_name: str) -> None:
        self._function = function_name

    def evaluate(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = aws.client("lambda").invoke(
                FunctionName=self._function,
                InvocationType="RequestResponse",
                Payload=json.dumps(payload).encode("utf-8"),
            )
        except ReadTimeoutError:
            raise RulesFunctionFailed("the rules function did not answer in time") from None
        except Exception as exc:  # botocore errors; never chain (payloads may echo rule source)
            raise RulesUnavailable(f"invoking the rules function failed ({type(exc).__name__})") from None
        raw = answer["Payload"].read()
        if answer.get("FunctionError"):
            raise RulesFunctionFailed(f"the rules function failed ({answer.get('FunctionError')})")
        try:
            body = json.loads(raw)
        except ValueError:
            raise RulesFunctionFailed("the rules function answered with something that is not JSON") from None
        if not isinstance(body, dict):
            raise RulesFunctionFailed("the rules function answered with an unexpected shape")
        return body
