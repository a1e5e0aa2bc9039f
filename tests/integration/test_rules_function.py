"""The `rules` Lambda handler in-process: a real event (events/rules_evaluate.json) and a fake LambdaContext."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpdesk.domain.rules import RuleResult

ROOT = Path(__file__).resolve().parents[2]
EVENT = ROOT / "events" / "rules_evaluate.json"


@dataclass
class FakeLambdaContext:
    function_name: str = "rules"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:rules"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "00000000-0000-0000-0000-000000000001"
    log_group_name: str = "/aws/lambda/rules"
    log_stream_name: str = "2026/11/26/[$LATEST]0"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


@pytest.fixture
def rules_app(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "rules")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sys.modules.pop("rules_app", None)
    spec = importlib.util.spec_from_file_location("rules_app", ROOT / "functions" / "rules" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["rules_app"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("rules_app", None)


def invoke(app: Any, event: Any) -> dict[str, Any]:
    """Like lambda.invoke: the handler's return value must survive a JSON round trip."""
    answer = app.lambda_handler(event, FakeLambdaContext())
    return json.loads(json.dumps(answer))  # type: ignore[no-any-return]


def test_sample_event_routes_the_ticket(rules_app: Any) -> None:
    # Given the sample evaluate event (Contoso user, '!' in the message, Medium priority)
    event = json.loads(EVENT.read_text())
    # When the function handles it
    answer = invoke(rules_app, event)
    # Then the rules' changes come back under the contract
    result = RuleResult.model_validate(answer)
    assert result.status == "ok"
    assert result.variables is not None
    assert result.variables["priority"] == "High"
    assert result.variables["queue"] == "Tier 1 Support"
    assert result.changed == ["priority", "queue"]
    assert result.exception is None
    assert [w.code for w in result.warnings] == ["is-literal"]


def test_second_invocation_uses_the_compiled_cache(rules_app: Any) -> None:
    event = json.loads(EVENT.read_text())
    assert invoke(rules_app, event)["compile_cached"] is False
    assert invoke(rules_app, event)["compile_cached"] is True


def test_blocked_company_sets_exception(rules_app: Any) -> None:
    event = json.loads(EVENT.read_text())
    event["variables"]["businessName"] = "Fabrikam, Inc."
    answer = invoke(rules_app, event)
    assert answer["exception"] == "Ticket submission disabled until payment."


def test_validate_action(rules_app: Any) -> None:
    event = {"action": "validate", "tenant_id": "demo", "version": "4", "source": "email = 'x'\nwhile True:\n    pass"}
    answer = invoke(rules_app, event)
    assert answer["valid"] is False
    assert [(e["line"], e["code"]) for e in answer["errors"]] == [(1, "read-only"), (2, "forbidden")]


@pytest.mark.parametrize("bad", [{}, {"action": "evaluate"}, "not json object", None])
def test_bad_event_is_a_structured_error_not_a_crash(rules_app: Any, bad: Any) -> None:
    answer = invoke(rules_app, bad)
    assert answer["status"] == "invalid_request"
    assert answer["request_error"]


def test_escape_attempt_is_reported_not_executed(rules_app: Any) -> None:
    event = json.loads(EVENT.read_text())
    event["source"] = "x = '{0.__class__.__mro__}'.format(msg)\n"
    answer = invoke(rules_app, event)
    assert answer["status"] == "ok"
    assert answer["exception"].startswith("Rules error on line 1:")
    assert "__mro__" in answer["exception"] and "<class" not in answer["exception"]
