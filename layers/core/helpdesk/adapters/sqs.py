"""SQS adapter for the work queue.

Every message carries `MessageGroupId` = its tenant id. On a standard queue that makes it a *fair queue*
(docs/architecture.md, "Dispatch: fairness between tenants"): when one tenant holds a disproportionate share of
the in-flight messages or of the consumers' processing time, SQS delivers the other tenants' messages first.
It does not serialise a tenant (that is FIFO only) and needs no change in the consumer.
"""

from __future__ import annotations

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

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        """Make a received message visible again after `delay_seconds` (the backoff of a failed item)."""
        aws.client("sqs").change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_seconds
        )
