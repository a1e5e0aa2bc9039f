"""RulesRunner over the `rules` function: a synchronous ``lambda.invoke`` (dispatcher and admin API alike).

The payload is a RulesRequest, the answer is read back as a RuleResult (validated here, so callers only ever see
the model). A rule that raises is NOT an error here: the sandbox reports it as `error`. Two kinds of invoke
failure are told apart:

- the function could not be reached (throttled, network, service error): `RulesUnavailable`, retry later;
- the function ran and failed (crash, timeout: `FunctionError`, a read timeout, an unreadable answer):
  `RulesFunctionFailed`, final for the submission's rules step (no retry storm; the ticket gets the defaults).
"""

from __future__ import annotations

import json

from botocore.exceptions import ReadTimeoutError
from pydantic import ValidationError

from helpdesk import aws
from helpdesk.domain.rules import RuleResult, RulesFunctionFailed, RulesRequest, RulesUnavailable


class LambdaRulesRunner:
    def __init__(self, function_name: str) -> None:
        self._function = function_name

    def run(self, request: RulesRequest) -> RuleResult:
        try:
            answer = aws.client("lambda").invoke(
                FunctionName=self._function,
                InvocationType="RequestResponse",
                Payload=json.dumps(request.model_dump(mode="json")).encode("utf-8"),
            )
            raw = answer["Payload"].read()
        except ReadTimeoutError:
            raise RulesFunctionFailed("the rules function did not answer in time") from None
        except Exception as exc:  # botocore errors; never chain (payloads may echo rule source)
            raise RulesUnavailable(f"invoking the rules function failed ({type(exc).__name__})") from None
        if answer.get("FunctionError"):
            raise RulesFunctionFailed(f"the rules function failed ({answer.get('FunctionError')})")
        try:
            body = json.loads(raw)
        except ValueError:
            raise RulesFunctionFailed("the rules function answered with something that is not JSON") from None
        try:
            return RuleResult.model_validate(body)
        except ValidationError:
            raise RulesFunctionFailed("the rules function answered with an unexpected shape") from None
