"""SQS event source mapping emulator for each ``Type: SQS`` event of a function.

``MaximumConcurrency`` pollers (threads) per mapping, each: receive up to BatchSize messages (gathering for up
to MaximumBatchingWindowInSeconds), invoke the function synchronously with an SQS event, then delete what
succeeded. With ReportBatchItemFailures only the records not listed in ``batchItemFailures`` are deleted; an
invocation error (or an invalid/unknown itemIdentifier) fails the whole batch. Failed messages are left on
the queue: their visibility timeout, the queue's maxReceiveCount and redrive (moto moves a message to the DLQ
on receive) do the rest, as on AWS. Receives use 1 s long polls so stopping is quick.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from devstack.events import sqs_event, sqs_record
from devstack.lambda_service import InvokeResult, LambdaServiceError
from devstack.template import SqsSource

log = logging.getLogger("devstack.esm")
DEFAULT_CONCURRENCY = 5  # without ScalingConfig AWS scales pollers freely; locally a fixed few
_MAX_TRACKED = 10_000


class EventSourceMapping:
    def __init__(
        self,
        source: SqsSource,
        *,
        queue_url: str,
        queue_arn: str,
        function_name: str,
        sqs_client: Any,
        invoke: Callable[[str, bytes], InvokeResult],
        region: str,
    ) -> None:
        self.source = source
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.function_name = function_name
        self._sqs = sqs_client
        self._invoke = invoke
        self._region = region
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._deliveries: OrderedDict[str, int] = OrderedDict()
        self.batches = 0
        self.failed_batches = 0
        self.deleted = 0

    @property
    def concurrency(self) -> int:
        return self.source.maximum_concurrency or DEFAULT_CONCURRENCY

    def start(self) -> None:
        if not self.source.enabled:
            return
        for i in range(self.concurrency):
            thread = threading.Thread(
                target=self._run, name=f"esm-{self.source.function}-{self.source.event}-{i}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def deliveries(self, message_id: str) -> int:
        """How many times this mapping handed the message to the function (recent messages only)."""
        with self._lock:
            return self._deliveries.get(message_id, 0)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "function": self.source.function,
                "queue_url": self.queue_url,
                "pollers": len(self._threads),
                "batches": self.batches,
                "failed_batches": self.failed_batches,
                "deleted": self.deleted,
            }

    # ------------------------------------------------------------------ polling
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._receive_batch()
                if messages:
                    self._process(messages)
            except Exception:  # keep polling, like the managed poller does (moto restarting, etc.)
                if self._stop.is_set():
                    return
                log.exception("event source mapping %s.%s: poll failed", self.source.function, self.source.event)
                self._stop.wait(1.0)

    def _receive_batch(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        window_end: float | None = None
        while len(batch) < self.source.batch_size and not self._stop.is_set():
            wait = 1
            if window_end is not None:
                remaining = window_end - time.monotonic()
                if remaining <= 0:
                    break
                wait = max(0, min(1, int(remaining)))
            answer = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.source.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            got = answer.get("Messages", [])
            batch.extend(got)
            if batch and window_end is None:
                if self.source.batching_window_s <= 0:
                    break
                window_end = time.monotonic() + self.source.batching_window_s
            if not got and window_end is None:
                break  # idle: return to the loop (checks stop)
            if not got and window_end is not None:  # gathering: short polls, a little apart
                self._stop.wait(min(0.05, max(0.0, window_end - time.monotonic())))
        return batch

    def _process(self, messages: list[dict[str, Any]]) -> None:
        records = [
            sqs_record(
                m["Body"],
                queue_arn=self.queue_arn,
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                attributes=m.get("Attributes"),
                message_attributes=m.get("MessageAttributes"),
                region=self._region,
            )
            for m in messages
        ]
        with self._lock:
            self.batches += 1
            for m in messages:
                self._deliveries[m["MessageId"]] = self._deliveries.get(m["MessageId"], 0) + 1
                self._deliveries.move_to_end(m["MessageId"])
            while len(self._deliveries) > _MAX_TRACKED:
                self._deliveries.popitem(last=False)
        try:
            result = self._invoke(self.function_name, json.dumps(sqs_event(records)).encode())
        except LambdaServiceError as exc:  # throttled or stopping: the messages come back after the timeout
            log.warning("event source mapping %s: invoke failed: %s", self.source.function, exc)
            self._failed()
            return
        failed = self._failed_ids(result, {m["MessageId"] for m in messages})
        if failed is None:
            self._failed()
            return
        to_delete = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(to_delete), 10):
            chunk = to_delete[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        with self._lock:
            self.deleted += len(to_delete)
            if failed:
                self.failed_batches += 1

    def _failed(self) -> None:
        with self._lock:
            self.failed_batches += 1

    def _failed_ids(self, result: InvokeResult, ids: set[str]) -> set[str] | None:
        """Message ids to keep; None = the whole batch failed."""
        if not result.ok:
            return None
        if not self.source.report_batch_item_failures:
            return set()
        try:
            answer = result.json()
        except ValueError:
            return None
        if not isinstance(answer, dict) or not answer.get("batchItemFailures"):
            return set()  # None / {} / [] all mean success
        failed = set()
        for item in answer["batchItemFailures"]:
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not ident or ident not in ids:
                return None  # AWS treats an invalid response as a complete failure
            failed.add(ident)
        return failed
