"""devstack.esm.EventSourceMapping: what gets deleted after an invocation, with a fake SQS and a fake function."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.esm import EventSourceMapping
from devstack.lambda_service import InvokeResult, LambdaServiceError
from devstack.template import SqsSource

ARN = "arn:aws:sqs:us-east-1:123456789012:q"


class FakeSqs:
    """Holds messages; receive hands out every visible one; records deletions."""

    def __init__(self, bodies: list[str]) -> None:
        self.messages = [
            {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": b, "Attributes": {"ApproximateReceiveCount": "1"}}
            for i, b in enumerate(bodies)
        ]
        self.deleted: list[str] = []
        self.receives = 0

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self.receives += 1
        batch, self.messages = (
            self.messages[: kwargs["MaxNumberOfMessages"]],
            self.messages[kwargs["MaxNumberOfMessages"] :],
        )
        return {"Messages": batch}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.deleted += [e["ReceiptHandle"] for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}


def _mapping(sqs: FakeSqs, answer: Any, *, report: bool = True, batch: int = 10) -> tuple[EventSourceMapping, list]:
    events: list[dict[str, Any]] = []

    def invoke(name: str, payload: bytes) -> InvokeResult:
        events.append(json.loads(payload))
        if isinstance(answer, Exception):
            raise answer
        return answer

    source = SqsSource("Fn", "Work", "Queue", batch, 0, 2, report, True)
    esm = EventSourceMapping(
        source,
        queue_url="http://q",
        queue_arn=ARN,
        function_name="fn",
        sqs_client=sqs,
        invoke=invoke,
        region="us-east-1",
    )
    return esm, events


def _ok(payload: Any) -> InvokeResult:
    return InvokeResult(json.dumps(payload).encode())


def _run_once(esm: EventSourceMapping) -> None:
    esm._process(esm._receive_batch())


def test_the_event_has_lambdas_sqs_record_shape() -> None:
    sqs = FakeSqs(["a"])
    esm, events = _mapping(sqs, _ok(None))
    _run_once(esm)
    [record] = events[0]["Records"]
    assert record["messageId"] == "m0" and record["receiptHandle"] == "r0" and record["body"] == "a"
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == ARN
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


@pytest.mark.parametrize("answer", [None, {}, {"batchItemFailures": []}])
def test_success_deletes_the_whole_batch(answer: Any) -> None:
    sqs = FakeSqs(["a", "b", "c"])
    esm, _ = _mapping(sqs, _ok(answer))
    _run_once(esm)
    assert sorted(sqs.deleted) == ["r0", "r1", "r2"]


def test_reported_item_failures_are_kept_the_rest_deleted() -> None:
    sqs = FakeSqs(["a", "b", "c"])
    esm, _ = _mapping(sqs, _ok({"batchItemFailures": [{"itemIdentifier": "m1"}]}))
    _run_once(esm)
    assert sorted(sqs.deleted) == ["r0", "r2"]


@pytest.mark.parametrize(
    "answer",
    [
        InvokeResult(b'{"errorMessage": "x", "errorType": "E"}', "Unhandled"),
        _ok({"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}),
        _ok({"batchItemFailures": [{"itemIdentifier": ""}]}),
        _ok({"batchItemFailures": ["m1"]}),
        LambdaServiceError(429, "TooManyRequestsException", "Rate Exceeded."),
    ],
    ids=["function-error", "unknown-id", "empty-id", "not-an-object", "throttled"],
)
def test_errors_and_invalid_responses_fail_the_whole_batch(answer: Any) -> None:
    sqs = FakeSqs(["a", "b"])
    esm, _ = _mapping(sqs, answer)
    _run_once(esm)
    assert sqs.deleted == []
    assert esm.stats()["failed_batches"] == 1


def test_without_report_batch_item_failures_any_success_deletes_everything() -> None:
    sqs = FakeSqs(["a", "b"])
    esm, _ = _mapping(sqs, _ok({"batchItemFailures": [{"itemIdentifier": "m1"}]}), report=False)
    _run_once(esm)
    assert sorted(sqs.deleted) == ["r0", "r1"]


def test_batch_size_bounds_each_invocation_and_deliveries_are_counted() -> None:
    sqs = FakeSqs([f"b{i}" for i in range(5)])
    esm, events = _mapping(sqs, _ok(None), batch=2)
    for _ in range(3):
        _run_once(esm)
    assert [len(e["Records"]) for e in events] == [2, 2, 1]
    assert esm.deliveries("m4") == 1 and esm.deliveries("nope") == 0
