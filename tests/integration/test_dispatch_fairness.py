"""Fair dispatch against moto: the per-tenant lease slots, and the dispatcher deferring a tenant over its share."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from devstack.autotask_sim import AutotaskSimulator
from devstack.events import lambda_context
from helpdesk.adapters.dynamodb_limits import DynamoTenantLeases
from helpdesk.domain.work import SubmissionWork, dump_work

from .dispatch_world import World
from .test_dispatch_handler import handler  # noqa: F401 - fixture


def test_a_tenant_gets_at_most_its_slots_and_a_lapsed_lease_frees_itself(aws_env: dict[str, str]) -> None:
    now = [1_000_000.0]
    leases = DynamoTenantLeases(aws_env["TENANTS_TABLE"], slots=2, clock=lambda: now[0])
    first = leases.try_acquire("acme", now[0] + 30)
    second = leases.try_acquire("acme", now[0] + 60)
    assert first and second and first.split(":")[0] != second.split(":")[0]
    assert leases.try_acquire("acme", now[0] + 30) is None  # share fully held
    assert leases.try_acquire("bravo", now[0] + 30) is not None  # other tenants are not affected
    leases.release("acme", second)
    assert leases.try_acquire("acme", now[0] + 30) is not None
    now[0] += 31  # the first holder's invocation must have ended: its lease lapses
    assert leases.try_acquire("acme", now[0] + 30) is not None


def test_taking_a_lease_costs_one_round_trip_when_free_and_at_most_two_when_busy(aws_env: dict[str, str]) -> None:
    leases = DynamoTenantLeases(aws_env["TENANTS_TABLE"], slots=3)
    until = time.time() + 30
    handles = []
    for _ in range(3):
        before = leases.round_trips
        handle = leases.try_acquire("acme", until)
        assert handle is not None and leases.round_trips - before <= 2
        handles.append(handle)
    before = leases.round_trips
    assert leases.try_acquire("acme", until) is None and leases.round_trips - before == 1
    before = leases.round_trips
    leases.release("acme", handles[0])
    assert leases.round_trips - before == 1


def _records(env: dict[str, str], works: list[SubmissionWork]) -> dict[str, Any]:
    sqs = boto3.client("sqs")
    for work in works:
        sqs.send_message(QueueUrl=env["WORK_QUEUE_URL"], MessageBody=dump_work(work), MessageGroupId=work.tenant_id)
    got = sqs.receive_message(QueueUrl=env["WORK_QUEUE_URL"], MaxNumberOfMessages=10)["Messages"]
    assert len(got) == len(works)
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:work",
                "awsRegion": "us-east-1",
            }
            for m in got
        ]
    }


def test_the_dispatcher_defers_a_tenant_holding_its_share_and_serves_the_others(
    handler: Any,  # noqa: F811
    aws_env: dict[str, str],
    sim: AutotaskSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World(sim=sim, env=aws_env)
    for tenant in ("noisy", "quiet"):
        world.add_tenant(tenant)
        world.submit(f"{tenant}-0001", tenant_id=tenant)
    leases = DynamoTenantLeases(aws_env["TENANTS_TABLE"], slots=handler.LEASES.slots)
    for _ in range(handler.LEASES.slots):  # other dispatcher invocations hold all of noisy's slots
        assert leases.try_acquire("noisy", time.time() + 60) is not None
    event = _records(
        aws_env,
        [
            SubmissionWork(tenant_id="noisy", submission_id="noisy-0001"),
            SubmissionWork(tenant_id="quiet", submission_id="quiet-0001"),
        ],
    )
    answer = handler.lambda_handler(event, lambda_context("dispatcher", timeout_s=60))
    assert answer == {"batchItemFailures": []}  # deferred is not failed: the original copy is deleted
    assert len(world.ticket_for("quiet-0001")) == 1
    assert world.ticket_for("noisy-0001") == []
    # The noisy record went back to the queue as a new, delayed message in its tenant's group
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws_env["WORK_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessages"],
    )["Attributes"]
    assert int(attrs["ApproximateNumberOfMessagesDelayed"]) + int(attrs["ApproximateNumberOfMessages"]) == 1
    time.sleep(4.2)
    [again] = boto3.client("sqs").receive_message(
        QueueUrl=aws_env["WORK_QUEUE_URL"], MessageSystemAttributeNames=["MessageGroupId"], WaitTimeSeconds=2
    )["Messages"]
    assert json.loads(again["Body"]) == {
        "kind": "submission",
        "tenant_id": "noisy",
        "submission_id": "noisy-0001",
        "deferrals": 1,
    }
    assert again["Attributes"]["MessageGroupId"] == "noisy"
    # The invocation gave its own leases back: quiet can take all of its slots again
    assert all(leases.try_acquire("quiet", time.time() + 60) for _ in range(leases.slots))


def test_everything_the_dispatcher_keeps_in_the_tenants_table_sits_under_its_leading_keys(
    aws_env: dict[str, str],
) -> None:
    """The code's key layout matches the template's dynamodb:LeadingKeys condition (IAM would refuse the rest)."""
    import fnmatch
    from pathlib import Path

    from samcli.yamlhelper import yaml_parse

    from helpdesk.adapters.dynamodb_limits import DynamoBreakerStore, DynamoConcurrencyLimiter
    from helpdesk.ports import LimiterKey

    template = yaml_parse((Path(__file__).resolve().parents[2] / "template.yaml").read_text())
    statements = template["Resources"]["DispatcherFunction"]["Properties"]["Policies"][0]["Statement"]
    [writes] = [s for s in statements if "dynamodb:UpdateItem" in s["Action"] and "TenantsTable" in str(s["Resource"])]
    allowed = writes["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]

    table = aws_env["TENANTS_TABLE"]
    limiter = DynamoConcurrencyLimiter(table)
    with limiter.acquire(LimiterKey(database="db1", integration_code="CODE", entity="Tickets")):
        pass
    DynamoBreakerStore(table).put("acme", "{}", int(time.time()) + 60)
    leases = DynamoTenantLeases(table, slots=1)
    handle = leases.try_acquire("acme", time.time() + 30)
    assert handle is not None
    leases.release("acme", handle)
    keys = [item["pk"] for item in boto3.resource("dynamodb").Table(table).scan()["Items"]]
    assert len(keys) >= 3
    for key in keys:
        assert any(fnmatch.fnmatchcase(key, pattern) for pattern in allowed), key
