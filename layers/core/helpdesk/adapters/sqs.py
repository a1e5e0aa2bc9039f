"""SQS adapter for the work queue.

Every message carries `MessageGroupId` = its tenant id. On a standard queue that makes it a *fair queue*
(docs/architecture.md, "Dispatch: fairness between tenants"): when one tenant holds a disproportionate share of
the in-flight messages or of the consumers' processing time, SQS delivers the other tenants' messages first.
It does not serialise a tenant (that is FIFO only) and needs no change in the consumer.
"""

from __future__ import annotations

from collections.abc import Sequence

from helpdesk import aws
from helpdesk.domain.work import SubmissionWork, SyncWork, dump_work


class SqsWorkQueue:
    def __init__(self, queue_url: str) -> None:
        self._url = queue_url

    def send(self, message: SubmissionWork | SyncWork, *, delay_seconds: int = 0) -> str:
        answer = aws.client("sqs").send_message(
            QueueUrl=self._url,
            MessageBody=dump_work(message),
            MessageGroupId=message.tenant_id,
            DelaySeconds=max(0, min(900, delay_seconds)),
        )
        return str(answer["MessageId"])

    def send_batch(
        self, messages: Sequence[SubmissionWork | SyncWork], *, delay_seconds: int | Sequence[int] = 0
    ) -> list[int]:
        """Send any number of messages, ten per call (one delay for all, or one per message); the indexes of those
        that could not be sent."""
        delays = [delay_seconds] * len(messages) if isinstance(delay_seconds, int) else list(delay_seconds)
        failed: list[int] = []
        sqs = aws.client("sqs")
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            answer = sqs.send_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {
                        "Id": str(start + i),
                        "MessageBody": dump_work(m),
                        "MessageGroupId": m.tenant_id,
                        "DelaySeconds": max(0, min(900, delays[start + i])),
                    }
                    for i, m in enumerate(chunk)
                ],
            )
            failed += [int(f["Id"]) for f in answer.get("Failed", [])]
        return sorted(failed)

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        """Make a received message visible again after `delay_seconds` (the backoff of a failed item)."""
        aws.client("sqs").change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_seconds
        )
