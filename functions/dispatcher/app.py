"""dispatcher: SQS batch consumer. Every Autotask call in the service happens behind this handler.

Thin: parse each record into a work message, hand it to the dispatch router, and let Powertools report
partial batch failures, also when every record of a batch failed (`raise_on_entire_batch_failure=False`): an
Autotask outage, a throttle or a tenant's broken credentials is not an error of this function. Those are
counted per tenant and cause (`AutotaskUnavailable`, `CredentialsRejected`, ...) and alarmed on separately;
an exception the use cases did not expect (a bug, an AWS service failing) is counted as `DispatchUnexpectedErrors`
(its own alarm) before it is reported as a failed record. A failed record is made visible again after an exponential backoff with jitter
(instead of waiting out the queue's long visibility timeout); after maxReceiveCount it lands in the DLQ.
Before that, the batch is split by the tenants' shares of the dispatcher (helpdesk.dispatch.fairness): the
records of a tenant that already holds its whole share are sent again with a short delay and left out.
Dependencies (repositories, the Autotask client factory with the cross-instance limiter, the rules invoker)
are built once per execution environment in `dependencies.py`.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from dependencies import DEPS, ENV, LEASES, QUEUE, wire

from helpdesk.autotask.errors import AutotaskError
from helpdesk.dispatch import router
from helpdesk.dispatch.create_ticket import RetryLater
from helpdesk.dispatch.fairness import TenantShare, defer_seconds, split_batch
from helpdesk.domain.retry import backoff_seconds
from helpdesk.domain.work import SubmissionWork, SyncWork, parse_work
from helpdesk.observability import logger, metrics, tracer

wire()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
SHARE = TenantShare(LEASES)
LAST_OF_TENANT: dict[str, str] = {}  # message id of each tenant's last admitted record -> tenant


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> None:
    attempt = int(record.attributes.approximate_receive_count or 1)
    try:
        message = parse_work(record.body)
        attempt += message.attempts  # attempts made on earlier copies (deferred for fairness)
        logger.append_keys(tenant_id=message.tenant_id, work_kind=message.kind, attempt=attempt)
        if isinstance(message, SubmissionWork):
            logger.set_correlation_id(message.submission_id)
        tracer.put_annotation("tenant_id", message.tenant_id)
        if DEPS.time_left() <= 0:  # do not start work this invocation cannot finish
            raise RetryLater("this invocation is running out of time; the next one takes it", 1)
        router.handle(message, attempt=attempt)
    except Exception as exc:
        delay = backoff_seconds(
            attempt,
            base=ENV.retry_base_delay_seconds,
            cap=ENV.retry_max_delay_seconds,
            retry_after=getattr(exc, "retry_after", None),
        )
        logger.warning(
            "work item failed; retrying later",
            extra={
                "message_id": record.message_id,
                "attempt": attempt,
                "retry_in_s": delay,
                "error": type(exc).__name__,
                "reason": str(exc)[:300],
            },
        )
        if not isinstance(exc, (RetryLater, AutotaskError)):
            metrics.add_metric(name="DispatchUnexpectedErrors", unit="Count", value=1)
            logger.exception("unexpected error in a work item")
        QUEUE.retry_later(record.receipt_handle, delay)
        raise
    finally:
        logger.remove_keys(["tenant_id", "work_kind", "attempt"])
        logger.set_correlation_id(None)
        tenant = LAST_OF_TENANT.pop(record.message_id, None)
        if tenant is not None:  # this tenant's last record of the batch: its lease goes back at once
            SHARE.done(tenant)


def _peek(record: dict[str, Any]) -> SubmissionWork | SyncWork | None:
    try:
        return parse_work(str(record.get("body", "")))
    except ValueError:
        return None  # unreadable: record_handler fails it the usual way


def _defer(records: list[dict[str, Any]], batch_deferred: list[tuple[int, SubmissionWork | SyncWork]]) -> list[str]:
    """Send the over-share records again (short delay); the message ids that could not be re-sent."""
    if not batch_deferred:
        return []
    delays = [defer_seconds(work.deferrals - 1) for _, work in batch_deferred]
    unsent = QUEUE.send_batch([work for _, work in batch_deferred], delay_seconds=delays)
    metrics.add_metric(name="DeferredForFairness", unit="Count", value=len(batch_deferred) - len(unsent))
    stuck = []
    for position in unsent:  # not re-sent: give them back to the queue instead (a receive, but nothing lost)
        record = records[batch_deferred[position][0]]
        QUEUE.retry_later(str(record["receiptHandle"]), delays[position])
        stuck.append(str(record["messageId"]))
    return stuck


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A submission claimed by this invocation is released at the latest when the invocation must have ended.
    DEPS.lease = lambda: timedelta(milliseconds=context.get_remaining_time_in_millis() + 1000)
    # Stop starting Autotask steps when less than a reserve is left (30 % of the budget, 3-20 s): one slow
    # request must not turn into a timeout that holds the whole batch until the visibility timeout.
    reserve_s = min(20.0, max(3.0, 0.3 * context.get_remaining_time_in_millis() / 1000))
    DEPS.time_left = lambda: context.get_remaining_time_in_millis() / 1000 - reserve_s
    records: list[dict[str, Any]] = list(event.get("Records") or [])
    work = [(_peek(r), int((r.get("attributes") or {}).get("ApproximateReceiveCount") or 1)) for r in records]
    until = time.time() + context.get_remaining_time_in_millis() / 1000 + 1
    try:
        batch = split_batch(SHARE, work, until)
        stuck = _defer(records, batch.deferred)
        LAST_OF_TENANT.clear()
        LAST_OF_TENANT.update({str(records[i]["messageId"]): t for i, t in batch.last_of_tenant.items()})
        admitted = {**event, "Records": [records[i] for i in batch.admitted]}
        # Every record deferred: nothing to process (Powertools refuses an empty batch as not an SQS event)
        answer = (
            process_partial_response(
                event=admitted, record_handler=record_handler, processor=processor, context=context
            )
            if admitted["Records"]
            else {"batchItemFailures": []}
        )
    finally:
        SHARE.release_all()
        LAST_OF_TENANT.clear()
    failures = list(answer.get("batchItemFailures") or []) + [{"itemIdentifier": m} for m in stuck]
    return {"batchItemFailures": failures}
