"""The devstack's Lambda Invoke API, used through boto3 exactly as the functions use it in AWS."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests

pytestmark = pytest.mark.e2e


def _lambda(devstack: Any) -> Any:
    return boto3.client("lambda", endpoint_url=devstack.lambda_url, **devstack.client_kwargs(read_timeout=30))


def test_rules_function_is_invocable_by_the_name_the_dispatcher_gets(devstack: Any) -> None:
    # Given the name the template hands the dispatcher as RULES_FUNCTION_NAME (!Ref RulesFunction)
    name = devstack.lambda_service.pools["DispatcherFunction"].env["RULES_FUNCTION_NAME"]
    assert name == devstack.resources["RulesFunction"]["Ref"]
    # When invoked through boto3, by name and by ARN
    for function in (name, devstack.resources["RulesFunction"]["Arn"]):
        answer = _lambda(devstack).invoke(FunctionName=function, Payload=json.dumps({"any": "event"}).encode())
        # Then it answers like Lambda: 200, no function error, a JSON payload
        assert answer["StatusCode"] == 200
        assert "FunctionError" not in answer
        assert isinstance(json.loads(answer["Payload"].read()), dict)


@pytest.mark.parametrize(
    ("source", "stop"),
    [
        # one long C call: equal 1 MB strings that are different objects (about 10 s unstopped)
        ("s = 'x' * 1000000\nt = s[:-1] + 'x'\nx = [s, t] * 50000\nx.sort()\n", "time limit"),
        ("s = 'ab' * 500000\nrows = list(zip(*[s] * 100))\n", "memory limit"),  # past the memory limit
        ("t = ()\nfor i in range(12000):\n    t = " + "(" * 20 + "t" + ",)" * 20 + "\nx = {t}\n", "crashed"),
    ],
)
def test_rules_limits_hold_inside_the_functions_timeout_and_memory_size(devstack: Any, source: str, stop: str) -> None:
    # The devstack enforces RulesFunction's Timeout (3 s) and MemorySize (256 MB) as Lambda does: the
    # attack must end as a clean answer from the function, never as a function error.
    name = devstack.resources["RulesFunction"]["Ref"]
    event = {"action": "evaluate", "tenant_id": "t-e2e", "version": stop, "source": source, "variables": {}}
    answer = _lambda(devstack).invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert "FunctionError" not in answer, answer["Payload"].read()
    result = json.loads(answer["Payload"].read())
    assert result["status"] == "ok"
    assert result["exception"].startswith(("Rules stopped: ", "Rules error")), result["exception"]
    # (on a starved machine the 1 s clock may stop the memory or crash attack first: a clean stop either way)
    assert stop in result["exception"] or "time limit" in result["exception"], result["exception"]
    again = {**event, "version": "ok", "source": "priority = 'High'\n"}
    ok = json.loads(_lambda(devstack).invoke(FunctionName=name, Payload=json.dumps(again).encode())["Payload"].read())
    assert ok["exception"] is None and ok["variables"]["priority"] == "High"


def test_handler_exception_surfaces_as_unhandled_function_error(devstack: Any) -> None:
    # The intake's API Gateway resolver cannot route an event that is not an API Gateway request: a real
    # exception in a real worker (the dispatcher now answers an empty batch for any event without records).
    name = devstack.resources["IntakeFunction"]["Ref"]
    answer = _lambda(devstack).invoke(FunctionName=name, Payload=b'{"not": "an api gateway event"}')
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert set(error) >= {"errorMessage", "errorType", "stackTrace"}


def test_unknown_function_is_resource_not_found(devstack: Any) -> None:
    client = _lambda(devstack)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="helpdesk-NoSuchFunction", Payload=b"{}")


def test_async_invocation_is_accepted(devstack: Any) -> None:
    answer = _lambda(devstack).invoke(
        FunctionName=devstack.resources["RulesFunction"]["Ref"], InvocationType="Event", Payload=b"{}"
    )
    assert answer["StatusCode"] == 202


def test_stats_endpoint_reports_durations_and_memory(devstack: Any) -> None:
    _lambda(devstack).invoke(FunctionName=devstack.resources["RulesFunction"]["Ref"], Payload=b"{}")
    stats = requests.get(f"{devstack.lambda_url}/devstack/stats", timeout=10).json()
    rules = stats["functions"]["RulesFunction"]
    assert rules["invocations"] >= 1
    assert rules["duration_ms"]["count"] >= 1 and rules["duration_ms"]["p50"] is not None
    assert rules["peak_rss_mb"] > 0
    assert rules["workers"] >= 1 and all(rss > 0 for rss in rules["workers_rss_mb"])
    assert stats["event_source_mappings"][0]["function"] == "DispatcherFunction"


def test_workers_endpoint_kills_a_functions_workers(devstack: Any) -> None:
    name = devstack.resources["RulesFunction"]["Ref"]
    _lambda(devstack).invoke(FunctionName=name, Payload=b"{}")
    cold = devstack.stats()["functions"]["RulesFunction"]["cold_starts"]
    answer = requests.delete(f"{devstack.lambda_url}/devstack/workers/RulesFunction", timeout=10)
    assert answer.status_code == 200 and answer.json()["killed"] >= 1
    _lambda(devstack).invoke(FunctionName=name, Payload=b"{}")
    assert devstack.stats()["functions"]["RulesFunction"]["cold_starts"] == cold + 1
