"""The rules function's use case: events in, RuleResult out, never an unhandled error."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from helpdesk.domain.rules import RuleResult
from helpdesk.rules import Limits, RulesEngine
from helpdesk.rules.service import RulesService
from tests.unit.rules.conftest import SAMPLE


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "action": "evaluate",
        "tenant_id": "t-1",
        "version": "7",
        "source": "if '!' in msg:\n    priority = 'High'\n",
        "variables": {**SAMPLE, "msg": "Down!"},
    }
    return {**base, **overrides}


def test_evaluate_returns_variables_changes_and_timing() -> None:
    service = RulesService()
    result = service.handle(event())
    assert result.status == "ok"
    assert result.variables is not None and result.variables["priority"] == "High"
    assert result.changed == ["priority"]
    assert result.exception is None
    assert result.compile_cached is False
    assert service.handle(event()).compile_cached is True
    # the JSON form round-trips through the contract model
    assert RuleResult.model_validate_json(result.model_dump_json()) == result


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ({"tenant_id": ""}, "tenant_id"),
        ({"action": "delete"}, "action"),
        ({"variables": {"board": "x"}}, "unknown rule variable(s): board"),
        ({"source": 5}, "source"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_events_get_a_structured_error(bad: dict[str, Any], fragment: str) -> None:
    result = RulesService().handle(event(**bad))
    assert result.status == "invalid_request"
    assert result.request_error is not None and fragment in result.request_error
    assert result.variables is None


@pytest.mark.parametrize("raw", [None, "evaluate", [1, 2], 42])
def test_events_that_are_not_objects_get_a_structured_error(raw: Any) -> None:
    assert RulesService().handle(raw).status == "invalid_request"


def test_numeric_version_is_accepted() -> None:
    assert RulesService().handle(event(version=12)).version == "12"


def test_validate_reports_errors_and_warnings_without_running() -> None:
    result = RulesService().handle(event(action="validate", source="email = 'x'\nif p is 'a':\n    pass\n"))
    assert result.valid is False
    assert [(e.line, e.code) for e in result.errors] == [(1, "read-only")]
    assert any(w.code == "is-literal" and w.line == 2 for w in result.warnings)
    assert result.variables is None


def test_test_run_returns_helpers_output_and_validity() -> None:
    src = "vip = name == 'Dana Reyes'\nprint('vip', vip)\nif vip:\n    priority = 'High'\n"
    result = RulesService().handle(event(action="test", source=src))
    assert result.valid is True
    assert result.helpers == {"vip": True}
    assert result.output == ["vip True"]
    assert result.changed == ["priority"]


def test_rule_failure_is_an_ok_result_with_exception() -> None:
    result = RulesService().handle(event(source="x = 1 / 0\n"))
    assert result.status == "ok"
    assert result.exception == "Rules error on line 1: ZeroDivisionError: division by zero"
    assert result.error is not None and result.error.code == "runtime-error"


def test_limit_hit_is_reported_as_a_limit() -> None:
    service = RulesService(RulesEngine(Limits(max_steps=1000)))
    result = service.handle(event(source="for i in range(5000):\n    pass\n"))
    assert result.error is not None and result.error.code == "limit"
    assert result.exception is not None and "step limit" in result.exception


def test_evaluation_leaves_the_callers_alarm_handler_and_timer_alone() -> None:
    # The hard limits are enforced from outside the evaluating process: nothing is armed in this one, so no
    # timer can fire after an evaluation and turn it (or whatever runs next) into an internal error.
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, _frame: fired.append(signum))
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        service = RulesService()
        # one long C call: equal 1 MB strings that are different objects (identical ones compare quickly)
        slow = "s = 'x' * 1000000\nt = s[:-1] + 'x'\nx = [s, t] * 50000\nx.sort()\n"
        assert service.handle(event(source=slow)).exception is not None
        assert service.handle(event()).exception is None
        assert signal.getsignal(signal.SIGALRM) is not signal.default_int_handler
        assert 25 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_internal_failures_are_structured(monkeypatch: pytest.MonkeyPatch) -> None:
    service = RulesService()

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(service.engine, "evaluate", boom)
    result = service.handle(event())
    assert result.status == "internal_error"
    assert result.request_error is not None and "secret" not in result.request_error
