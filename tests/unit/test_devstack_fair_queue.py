"""devstack.fair_queue: moto's standard queue delivers like an SQS fair queue (quiet tenants first)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack import fair_queue


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    fair_queue.install()
    try:
        with mock_aws():
            client = boto3.client("sqs")
            url = client.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
            yield client, url
    finally:
        fair_queue.uninstall()


def _send(client: Any, url: str, tenant: str, n: int) -> None:
    for i in range(n):
        client.send_message(QueueUrl=url, MessageBody=f"{tenant}-{i}", MessageGroupId=tenant)


def _receive(client: Any, url: str, n: int) -> list[dict[str, Any]]:
    got = client.receive_message(
        QueueUrl=url, MaxNumberOfMessages=n, MessageSystemAttributeNames=["MessageGroupId"]
    ).get("Messages", [])
    return list(got)


def test_a_standard_queue_accepts_and_returns_the_message_group_id(sqs: tuple[Any, str]) -> None:
    client, url = sqs
    _send(client, url, "acme", 1)
    [message] = _receive(client, url, 1)
    assert message["Attributes"]["MessageGroupId"] == "acme"


def test_a_quiet_tenant_is_served_before_the_backlog_of_a_busy_one(sqs: tuple[Any, str]) -> None:
    client, url = sqs
    _send(client, url, "noisy", 20)
    held = _receive(client, url, 5)  # the noisy tenant's first five are being processed (slowly)
    assert {m["Body"] for m in held} == {f"noisy-{i}" for i in range(5)}
    time.sleep(0.05)
    _send(client, url, "quiet", 2)  # sent after 15 older visible messages of the noisy tenant
    got = [m["Body"] for m in _receive(client, url, 4)]
    assert got[:2] == ["quiet-0", "quiet-1"]
    assert got[2:] == ["noisy-5", "noisy-6"]  # nothing dropped: the backlog follows, oldest first


def test_without_group_ids_the_queue_stays_oldest_first(sqs: tuple[Any, str]) -> None:
    client, url = sqs
    for i in range(6):
        client.send_message(QueueUrl=url, MessageBody=f"m-{i}")
    _receive(client, url, 3)
    assert [m["Body"] for m in _receive(client, url, 3)] == ["m-3", "m-4", "m-5"]
