"""Work queue round trip: SQS -> event source mapping -> dispatcher worker -> retry -> dead-letter queue.

The session stack runs with RetryBaseDelaySeconds=0, so the dispatcher makes a failed record visible again at
once and the queue's own maxReceiveCount (from template.yaml) decides when it reaches the DLQ.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.e2e
DEADLINE_S = 90  # 8 deliveries take ~10 s; generous for a loaded 2-core machine


def _max_receive_count(devstack: Any) -> int:
    redrive = devstack.template.resolve(devstack.template.properties("WorkQueue")["RedrivePolicy"])
    return int(redrive["maxReceiveCount"])


def _wait_for_dead_letter(sqs: Any, dlq_url: str, message_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=0,
            AttributeNames=["All"],
        )
        for message in answer.get("Messages", []):
            if message["MessageId"] == message_id:
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                return dict(message)
    raise AssertionError(f"message {message_id} did not reach the DLQ within {DEADLINE_S}s")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not json", id="malformed"),
        # Valid JSON that no work kind accepts (every real kind is handled now, some as a harmless no-op).
        pytest.param(json.dumps({"kind": "no-such-kind", "tenant_id": "t1"}), id="json-of-no-known-kind"),
    ],
)
def test_failing_work_item_is_retried_then_dead_lettered(devstack: Any, body: str) -> None:
    sqs = boto3.client("sqs", endpoint_url=devstack.moto_url, **devstack.client_kwargs())
    queue_url = devstack.resources["WorkQueue"]["Ref"]
    dlq_url = devstack.resources["DeadLetterQueue"]["Ref"]
    max_receives = _max_receive_count(devstack)
    errors_before = devstack.stats()["functions"]["DispatcherFunction"]["errors"]
    # When a work item the dispatcher cannot process is queued
    message_id = sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]
    # Then it lands in the dead-letter queue, unchanged
    dead = _wait_for_dead_letter(sqs, dlq_url, message_id)
    assert dead["Body"] == body
    # after exactly maxReceiveCount deliveries to the dispatcher (the DLQ receive above counts one more)
    assert devstack.deliveries(message_id) == max_receives
    assert int(dead["Attributes"]["ApproximateReceiveCount"]) == max_receives + 1
    # each of them reported as a failed record of a partial batch answer, not as a function error (a poison
    # message is counted as DispatchUnexpectedErrors, with its own alarm; function errors mean a broken deploy)
    assert devstack.stats()["functions"]["DispatcherFunction"]["errors"] == errors_before
    # and nothing is left on the work queue
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) == 0
