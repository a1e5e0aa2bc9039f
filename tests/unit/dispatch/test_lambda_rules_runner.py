"""The rules invoke adapter tells "the rules function failed" (final) from "it could not be reached" (retry)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from helpdesk.adapters import lambda_rules
from helpdesk.adapters.lambda_rules import LambdaRulesRunner
from helpdesk.domain.rules import RuleResult, RulesFunctionFailed, RulesRequest, RulesUnavailable

REQUEST = RulesRequest(action="evaluate", tenant_id="acme", version="1", source="")


class FakeLambda:
    def __init__(self, answer: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.answer, self.error = answer, error

    def invoke(self, **_: Any) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


def _runner(monkeypatch: pytest.MonkeyPatch, fake: FakeLambda) -> LambdaRulesRunner:
    monkeypatch.setattr(lambda_rules.aws, "client", lambda name: fake)
    return LambdaRulesRunner("rules")


@pytest.mark.parametrize(
    "fake",
    [
        FakeLambda({"FunctionError": "Unhandled", "Payload": io.BytesIO(b'{"errorMessage": "Task timed out"}')}),
        FakeLambda({"Payload": io.BytesIO(b"not json")}),
        FakeLambda({"Payload": io.BytesIO(b"[1, 2]")}),
        FakeLambda({"Payload": io.BytesIO(b'{"status": "maybe"}')}),
        FakeLambda(error=ReadTimeoutError(endpoint_url="http://lambda")),
    ],
    ids=["function-error", "not-json", "wrong-shape", "unknown-status", "read-timeout"],
)
def test_a_rules_function_that_ran_and_failed_is_final(monkeypatch: pytest.MonkeyPatch, fake: FakeLambda) -> None:
    with pytest.raises(RulesFunctionFailed):
        _runner(monkeypatch, fake).run(REQUEST)


def test_a_throttled_invoke_is_retried_later(monkeypatch: pytest.MonkeyPatch) -> None:
    throttled = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")
    with pytest.raises(RulesUnavailable):
        _runner(monkeypatch, FakeLambda(error=throttled)).run(REQUEST)


def test_an_answer_is_read_as_a_rule_result(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeLambda({"Payload": io.BytesIO(b'{"status": "ok", "exception": "No tickets on Sundays."}')})
    assert _runner(monkeypatch, fake).run(REQUEST) == RuleResult(status="ok", exception="No tickets on Sundays.")
