"""The dispatcher handler in-process (moto + the Autotask simulator): partial batch failures and backoff by
visibility change, with the sample event events/dispatcher_submission.json."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.autotask_sim import AutotaskSimulator
from devstack.events import lambda_context

from .dispatch_world import InProcessRules, World

ROOT = Path(__file__).resolve().parents[2]
EVENT = json.loads((ROOT / "events" / "dispatcher_submission.json").read_text())
SID = json.loads(EVENT["Records"][0]["body"])["submission_id"]


@pytest.fixture
def handler(aws_env: dict[str, str], sim: AutotaskSimulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("RETRY_BASE_DELAY_SECONDS", "0")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "dispatcher")
    # In Lambda every function has its own process, so the shared metrics singleton is created with the right
    # service name; in one test process another function's tests may have created it first.
    from helpdesk.observability import metrics

    monkeypatch.setattr(metrics, "service", "dispatcher")
    monkeypatch.setattr(metrics.provider, "service", "dispatcher")
    directory = ROOT / "functions" / "dispatcher"
    for name in ("dependencies", "dispatcher_app"):
        sys.modules.pop(name, None)
    from helpdesk import env

    env.load.cache_clear()
    sys.path.insert(0, str(directory))
    try:
        spec = importlib.util.spec_from_file_location("dispatcher_app", directory / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(directory))
    sys.modules["dependencies"].DEPS.rules = InProcessRules()
    return module


def _event_for_real_message(env: dict[str, str]) -> tuple[dict[str, Any], str]:
    """The sample event, carrying a message really in the queue (so its receipt handle works)."""
    sqs = boto3.client("sqs")
    record = EVENT["Records"][0]
    sqs.send_message(QueueUrl=env["WORK_QUEUE_URL"], MessageBody=record["body"])
    [message] = sqs.receive_message(QueueUrl=env["WORK_QUEUE_URL"], MaxNumberOfMessages=1)["Messages"]
    event = copy.deepcopy(EVENT)
    event["Records"][0].update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"])
    return event, message["MessageId"]


def test_sample_event_creates_the_ticket_and_reports_no_failure(
    handler: Any, aws_env: dict[str, str], sim: AutotaskSimulator
) -> None:
    world = World(sim=sim, env=aws_env)
    world.add_tenant("demo")
    world.submit(SID, tenant_id="demo")
    event, _ = _event_for_real_message(aws_env)
    assert handler.lambda_handler(event, lambda_context("dispatcher", timeout_s=60)) == {"batchItemFailures": []}
    assert len(world.ticket_for(SID)) == 1


def _emf(out: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric-format records a function printed."""
    records = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


def test_an_autotask_outage_failing_the_whole_batch_is_no_function_error_but_a_tenant_metric(
    handler: Any, aws_env: dict[str, str], sim: AutotaskSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(sim=sim, env=aws_env)
    world.add_tenant("demo")
    world.submit(SID, tenant_id="demo")
    sim.set_faults("demo", outage_seconds=60)
    event, message_id = _event_for_real_message(aws_env)
    # Every record of the batch failed: still a partial-batch answer, not an invocation error (the Errors alarm
    # must not page the operator for a routine Autotask outage)
    answer = handler.lambda_handler(event, lambda_context("dispatcher", timeout_s=60))
    assert answer == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    outage = [r for r in _emf(capsys.readouterr().out) if "AutotaskUnavailable" in r]
    assert outage and outage[0]["tenant_id"] == "demo"
    assert outage[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"], ["service", "tenant_id"]]
    # RETRY_BASE_DELAY_SECONDS=0: visible again at once, instead of after the queue's 360 s visibility timeout
    # RETRY_BASE_DELAY_SECONDS=0: visible again at once, instead of after the queue's 360 s visibility timeout
    again = boto3.client("sqs").receive_message(QueueUrl=aws_env["WORK_QUEUE_URL"], WaitTimeSeconds=1)
    assert [m["MessageId"] for m in again.get("Messages", [])] == [message_id]
    sub = world.submissions.get("demo", SID)
    assert sub is not None and sub.status.value == "creating" and sub.error and sub.lease_owner is None


def test_partial_batch_failure_names_only_the_failed_record(
    handler: Any, aws_env: dict[str, str], sim: AutotaskSimulator
) -> None:
    world = World(sim=sim, env=aws_env)
    world.add_tenant("demo")
    world.submit(SID, tenant_id="demo")
    good, _ = _event_for_real_message(aws_env)
    bad_record = copy.deepcopy(good["Records"][0])
    bad_record.update(messageId="not-a-work-item", body="not json")
    event = {"Records": [good["Records"][0], bad_record]}
    answer = handler.lambda_handler(event, lambda_context("dispatcher", timeout_s=60))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "not-a-work-item"}]}
    assert len(world.ticket_for(SID)) == 1


def test_an_unexpected_error_is_counted_for_its_own_alarm_and_the_batch_still_answers(
    handler: Any, aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    record = copy.deepcopy(EVENT["Records"][0])
    record.update(messageId="not-a-work-item", body="not json", receiptHandle="gone")
    answer = handler.lambda_handler({"Records": [record]}, lambda_context("dispatcher", timeout_s=60))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "not-a-work-item"}]}
    [flushed] = [r for r in _emf(capsys.readouterr().out) if "DispatchUnexpectedErrors" in r]
    assert flushed["DispatchUnexpectedErrors"] == [1.0] and flushed["service"] == "dispatcher"


def test_a_batch_whose_every_record_is_deferred_for_fairness_answers_without_an_error(
    handler: Any, aws_env: dict[str, str], sim: AutotaskSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(sim=sim, env=aws_env)
    world.add_tenant("demo")
    world.submit(SID, tenant_id="demo")
    event, _ = _event_for_real_message(aws_env)
    # the tenant already holds its whole share of the dispatcher: every record of the batch is deferred
    monkeypatch.setattr(handler.SHARE, "admit", lambda tenants, until: set(tenants))
    answer = handler.lambda_handler(event, lambda_context("dispatcher", timeout_s=60))
    assert answer == {"batchItemFailures": []}  # re-sent with a short delay, not failed
