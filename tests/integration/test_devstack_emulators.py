"""The devstack's emulators against a tiny fixture template whose functions misbehave on purpose.

tests/integration/devstack_fixture/template.yaml + fns/handlers.py: echo (returns the event and its
environment), boom (raises), sleepy (Timeout 1 s), hard_exit (os._exit), png (binary response), a malformed
proxy response, a handler that cannot be imported, and an SQS consumer reporting partial batch failures.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devstack.stack import Devstack

FIXTURE = Path(__file__).resolve().parent / "devstack_fixture" / "template.yaml"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack() -> Iterator[Devstack]:
    with Devstack(FIXTURE, ports=0, state_dir=ROOT / ".devstack" / "pytest-fixture", autotask_sim=False) as s:
        yield s


def _lambda(stack: Devstack) -> Any:
    return boto3.client("lambda", endpoint_url=stack.lambda_url, **stack.client_kwargs(read_timeout=30))


def _echo(stack: Devstack, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = requests.request(method, f"{stack.api_url}{path}", timeout=30, **kwargs)
    assert response.status_code == 200, response.text
    return dict(response.json())


# ---------------------------------------------------------------------- API Gateway: the REST v1 event
def test_proxy_event_has_the_rest_v1_shape(stack: Devstack) -> None:
    answer = _echo(
        stack, "PUT", "/echo/a/b%20c?x=1&x=2&y=", data=b'{"k": "v"}', headers={"Content-Type": "application/json"}
    )
    event = answer["event"]
    assert event["resource"] == "/echo/{proxy+}"
    assert event["path"] == "/echo/a/b c"
    assert event["httpMethod"] == "PUT"
    assert event["pathParameters"] == {"proxy": "a/b c"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert event["body"] == '{"k": "v"}' and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["stage"] == "test"
    assert ctx["resourcePath"] == "/echo/{proxy+}"
    assert ctx["path"] == "/test/echo/a/b c"
    assert ctx["httpMethod"] == "PUT"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert isinstance(ctx["requestTimeEpoch"], int) and ctx["requestId"]


def test_no_query_and_no_body_are_null_like_api_gateway(stack: Devstack) -> None:
    event = _echo(stack, "GET", "/items/42")["event"]
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None
    assert event["pathParameters"] == {"id": "42"}


def test_static_resource_wins_over_path_parameter(stack: Devstack) -> None:
    event = _echo(stack, "GET", "/items/special")["event"]
    assert event["resource"] == "/items/special"
    assert event["pathParameters"] is None


def test_binary_media_type_reaches_the_handler_base64_encoded(stack: Devstack) -> None:
    payload = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"
    event = _echo(stack, "POST", "/echo", data=payload, headers={"Content-Type": "image/png"})["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_non_binary_invalid_utf8_is_replaced_not_crashing(stack: Devstack) -> None:
    event = _echo(stack, "POST", "/echo", data=b"ok \xff\xfe", headers={"Content-Type": "text/plain"})["event"]
    assert event["isBase64Encoded"] is False
    assert event["body"] == "ok \ufffd\ufffd"


def test_response_headers_and_multi_value_headers_are_honoured(stack: Devstack) -> None:
    response = requests.get(f"{stack.api_url}/items/1", timeout=30)
    assert response.headers["X-Single"] == "one"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_binary_response_is_decoded(stack: Devstack) -> None:
    response = requests.get(f"{stack.api_url}/png", headers={"Accept": "image/png"}, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("path", ["/boom", "/malformed", "/sleep?s=3"])
def test_function_error_malformed_response_or_timeout_is_502(stack: Devstack, path: str) -> None:
    response = requests.get(f"{stack.api_url}{path}", timeout=30)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


@pytest.mark.parametrize(("method", "path"), [("GET", "/echo"), ("GET", "/nothing"), ("POST", "/items/1")])
def test_unknown_route_or_method_is_403(stack: Devstack, method: str, path: str) -> None:
    response = requests.request(method, f"{stack.api_url}{path}", timeout=30)
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_body_over_10_mb_is_413(stack: Devstack) -> None:
    response = requests.post(f"{stack.api_url}/echo", data=b"0" * (10 * 1024 * 1024 + 1), timeout=60)
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}


def test_body_within_api_limit_but_over_lambda_payload_limit_is_413_like_aws(stack: Devstack) -> None:
    # the function is never invoked; API Gateway answers its REQUEST_TOO_LARGE response (not a 502)
    response = requests.post(f"{stack.api_url}/echo", data=b"a" * (7 * 1024 * 1024), timeout=60)
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}


# ---------------------------------------------------------------------- Lambda service
def test_payload_over_6_mb_is_request_too_large(stack: Devstack) -> None:
    client = _lambda(stack)
    payload = json.dumps({"blob": "a" * (6 * 1024 * 1024)}).encode()
    with pytest.raises(client.exceptions.RequestTooLargeException):
        client.invoke(FunctionName=stack.function_names["EchoFunction"], Payload=payload)


def test_worker_gets_template_environment_lambda_variables_and_context(stack: Devstack) -> None:
    answer = _lambda(stack).invoke(FunctionName=stack.function_names["EchoFunction"], Payload=b"{}")
    body = json.loads(json.loads(answer["Payload"].read())["body"])
    env, table = body["env"], stack.resources["Table"]["Ref"]
    assert env["FROM_GLOBALS"] == "global"
    assert env["TABLE"] == table
    assert env["QUEUE_ARN"] == stack.resources["Queue"]["Arn"]
    assert env["GREETING"] == f"hello-us-east-1-{table}"
    assert env["CONDITIONAL"] == "yes"
    assert env["AWS_ENDPOINT_URL"] == stack.moto_url
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == stack.lambda_url
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == stack.function_names["EchoFunction"]
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert "POWERTOOLS_METRICS_DISABLED" not in env
    assert Path(body["sys_path0"]) == FIXTURE.parent / "fns"
    assert body["pid"] != os.getpid()
    ctx = body["context"]
    assert ctx["function_name"] == stack.function_names["EchoFunction"]
    assert ctx["invoked_function_arn"] == stack.resources["EchoFunction"]["Arn"]
    assert str(ctx["memory_limit_in_mb"]) == "128"
    assert 0 < ctx["remaining_ms"] <= 3000


def test_warm_worker_keeps_module_state_and_logs_to_its_file(stack: Devstack) -> None:
    name = stack.function_names["EchoFunction"]
    stack.kill_workers("EchoFunction")
    first = json.loads(stack.invoke(name, {}).json()["body"])
    second = json.loads(stack.invoke(name, {}).json()["body"])
    assert first["pid"] == second["pid"]
    assert second["calls"] == first["calls"] + 1 == 2
    log = (stack.log_dir / "EchoFunction.log").read_text()
    assert "echo call 2" in log and "REPORT RequestId" in log


def test_log_type_tail_returns_this_invocations_log(stack: Devstack) -> None:
    client, name = _lambda(stack), stack.function_names["EchoFunction"]
    client.invoke(FunctionName=name, Payload=b"{}")
    answer = client.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    tail = base64.b64decode(answer["LogResult"]).decode()
    calls = json.loads(json.loads(answer["Payload"].read())["body"])["calls"]
    assert f"echo call {calls}" in tail
    assert f"echo call {calls - 1}" not in tail  # only this invocation
    assert "START RequestId" in tail and "REPORT RequestId" in tail


def test_handler_exception_is_unhandled_function_error(stack: Devstack) -> None:
    answer = _lambda(stack).invoke(FunctionName=stack.function_names["BoomFunction"], Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "BoomError"
    assert error["errorMessage"] == "kaboom"
    assert any("boom" in line for line in error["stackTrace"])


def test_timeout_kills_the_worker_and_the_next_invocation_cold_starts(stack: Devstack) -> None:
    client, name = _lambda(stack), stack.function_names["SleepyFunction"]
    client.invoke(FunctionName=name, Payload=b'{"sleep": 0}')
    pids = [w.pid for w in stack.lambda_service.pools["SleepyFunction"].workers()]
    started = time.monotonic()
    answer = client.invoke(FunctionName=name, Payload=b'{"sleep": 10}')
    assert time.monotonic() - started < 8  # 1 s timeout + kill, with slack for a loaded machine
    assert answer["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in json.loads(answer["Payload"].read())["errorMessage"]
    for pid in pids:  # the timed-out execution environment is gone
        assert not _alive(pid)
    ok = client.invoke(FunctionName=name, Payload=b'{"sleep": 0}')
    assert "FunctionError" not in ok
    assert json.loads(json.loads(ok["Payload"].read())["body"])["pid"] not in pids
    assert stack.stats()["functions"]["SleepyFunction"]["timeouts"] >= 1


def test_memory_over_memory_size_kills_the_worker_like_lambda(stack: Devstack) -> None:
    client, name = _lambda(stack), stack.function_names["HungryFunction"]  # MemorySize 128
    within = client.invoke(FunctionName=name, Payload=b'{"mb": 16, "hold": 0.3}')
    assert "FunctionError" not in within
    pid = json.loads(within["Payload"].read())["pid"]
    for payload in (b'{"mb": 200, "hold": 3}', b'{"mb": 200, "hold": 3, "child": true}'):  # itself, or a child
        started = time.monotonic()
        answer = client.invoke(FunctionName=name, Payload=payload)
        assert time.monotonic() - started < 3, payload  # killed when it passed the limit, not when it returned
        assert answer["FunctionError"] == "Unhandled", payload
        error = json.loads(answer["Payload"].read())
        assert error["errorType"] == "Runtime.ExitError"
        assert error["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
        assert not _alive(pid)  # that execution environment is gone ...
        again = client.invoke(FunctionName=name, Payload=b'{"mb": 1}')
        assert "FunctionError" not in again  # ... and the next invocation gets a fresh one
        pid = json.loads(again["Payload"].read())["pid"]
    assert "Runtime.OutOfMemory" in (stack.log_dir / "HungryFunction.log").read_text()


def test_worker_crash_is_runtime_exit_error(stack: Devstack) -> None:
    answer = _lambda(stack).invoke(FunctionName=stack.function_names["ExitFunction"], Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in error["errorMessage"]


def test_import_error_is_reported_as_init_error(stack: Devstack) -> None:
    answer = _lambda(stack).invoke(FunctionName=stack.function_names["BrokenInitFunction"], Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "Runtime.ImportModuleError"


def test_concurrent_invocations_run_in_separate_workers(stack: Devstack) -> None:
    name = stack.function_names["SleepyFunction"]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: stack.invoke(name, {"sleep": 0.5}), range(3)))
    pids = {json.loads(r.json()["body"])["pid"] for r in results}
    assert len(pids) == 3


def test_kill_workers_forces_a_cold_start(stack: Devstack) -> None:
    name = stack.function_names["EchoFunction"]
    pid = json.loads(stack.invoke(name, {}).json()["body"])["pid"]
    assert stack.kill_workers("EchoFunction") >= 1
    assert not _alive(pid)
    assert json.loads(stack.invoke(name, {}).json()["body"])["pid"] != pid


def test_killing_a_busy_worker_fails_its_invocation_like_a_crash(stack: Devstack) -> None:
    name = stack.function_names["PatientFunction"]  # Timeout 3 s
    stack.invoke(name, {"sleep": 0})  # warm
    functions = stack.lambda_service.pools if stack.lambda_service else {}
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(stack.invoke, name, {"sleep": 2.5})
        deadline = time.monotonic() + 2
        while functions["PatientFunction"].busy() < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # the invocation frame is on its way to the worker
        assert stack.kill_workers("PatientFunction") >= 1
        result = running.result(timeout=10)
    assert result.function_error == "Unhandled"
    error = result.json()
    assert error["errorType"] == "Runtime.ExitError"
    assert "signal: killed" in error["errorMessage"]
    assert stack.invoke(name, {"sleep": 0}).ok  # and the function recovers with a fresh worker


def test_idle_workers_are_reclaimed(stack: Devstack) -> None:
    name = stack.function_names["EchoFunction"]
    pid = json.loads(stack.invoke(name, {}).json()["body"])["pid"]
    pool = stack.lambda_service.pools["EchoFunction"] if stack.lambda_service else None
    assert pool is not None and pool.reap_idle(3600) == 0  # recently used: kept
    assert pool.reap_idle(0) >= 1
    assert not _alive(pid)
    assert json.loads(stack.invoke(name, {}).json()["body"])["pid"] != pid


def test_invoke_by_arn_partial_arn_and_qualifier(stack: Devstack) -> None:
    client, arn = _lambda(stack), stack.resources["EchoFunction"]["Arn"]
    name = stack.function_names["EchoFunction"]
    for function in (arn, f"{arn}:$LATEST", f"123456789012:function:{name}", f"{name}:$LATEST"):
        assert client.invoke(FunctionName=function, Payload=b"{}")["StatusCode"] == 200
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="EchoFunction-nope", Payload=b"{}")


# ---------------------------------------------------------------------- SQS event source mapping
def test_partial_batch_failures_are_retried_then_dead_lettered(stack: Devstack) -> None:
    sqs = stack.client("sqs")
    queue, dlq = stack.resources["Queue"]["Ref"], stack.resources["Dlq"]["Ref"]
    ids = {body: sqs.send_message(QueueUrl=queue, MessageBody=body)["MessageId"] for body in ("ok-1", "ok-2", "fail-1")}
    deadline, dead = time.monotonic() + 60, []
    while time.monotonic() < deadline and not dead:
        dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in dead] == ["fail-1"]
    assert stack.deliveries(ids["fail-1"]) == 2  # the fixture queue's maxReceiveCount
    assert stack.deliveries(ids["ok-1"]) == 1 and stack.deliveries(ids["ok-2"]) == 1
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_invocation_error_fails_the_whole_batch(stack: Devstack) -> None:
    sqs = stack.client("sqs")
    queue = stack.resources["Queue"]["Ref"]
    entries = [{"Id": "a", "MessageBody": "fine"}, {"Id": "b", "MessageBody": "crash"}]
    sent = {e["Id"]: e["MessageId"] for e in sqs.send_message_batch(QueueUrl=queue, Entries=entries)["Successful"]}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and stack.deliveries(sent["b"]) < 2:
        time.sleep(0.2)
    # the crash took its batch-mate down at least once: "fine" was delivered again with it
    assert stack.deliveries(sent["b"]) == 2
    assert stack.deliveries(sent["a"]) >= 1


# ---------------------------------------------------------------------- lifecycle
def test_stop_leaves_no_worker_processes_and_spares_other_stacks(stack: Devstack) -> None:
    other_pid = json.loads(stack.invoke("EchoFunction", {}).json()["body"])["pid"]
    with Devstack(FIXTURE, ports=0, state_dir=ROOT / ".devstack" / "pytest-fixture-2", autotask_sim=False) as s:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda _: s.invoke("SleepyFunction", {"sleep": 0.2}), range(2)))
        s.invoke("EchoFunction", {})
        pids = s.lambda_service.worker_pids() if s.lambda_service else []
        assert len(pids) >= 3
        # a busy worker at shutdown must go too
        pool = ThreadPoolExecutor(1)
        pool.submit(s.invoke, "SleepyFunction", {"sleep": 0.9})
        time.sleep(0.3)
    pool.shutdown(wait=True)
    assert s.leftover_pids == []  # the normal shutdown got them all; nothing had to be reaped
    for pid in pids:
        assert not _alive(pid)
    assert _alive(other_pid)  # the first stack's warm worker is untouched


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
