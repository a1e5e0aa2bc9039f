"""SQS fair queues for moto's standard queues: the delivery order AWS documents, modelled where the queue lives.

Since 2025 a *standard* SQS queue whose messages carry a ``MessageGroupId`` is a fair queue (AWS SQS Developer
Guide, "Amazon SQS fair queues" and "How Amazon SQS fair queues work"). moto 5 accepts the attribute on a standard
queue but delivers oldest-first regardless; this module makes the devstack's moto deliver as documented:

* A tenant is the ``MessageGroupId``; a message without one is a tenant of its own.
* A tenant is a *noisy neighbour* when either
  - it holds more than 10 % of the queue's in-flight messages **and** at least 30 of its own, or
  - its share of the consumers' recent processing time exceeds 10 %.
  Processing time of a message = from its receive to its delete or visibility change (or to now while it is in
  flight); "recent" is not specified by AWS: the model uses the last ``WINDOW_S`` seconds.
* Every receive hands out quiet tenants' visible messages first (oldest first, as a standard queue does); noisy
  tenants' messages only when no quiet one is waiting, the noisy tenant with the fewest in-flight messages first.
  Nothing is dropped or throttled.

Simplifications (documented in docs/devstack.md): noisiness is evaluated at each receive from the current state
(AWS keeps a tenant marked until its backlog drains or it sends nothing for 5 minutes), and the thresholds are
exact where AWS's are approximate. FIFO queues are untouched (they have their own group semantics).

``install()`` patches moto's ``Queue`` / ``SQSBackend`` in the current process; the devstack's moto process calls
it at start. It is idempotent and ``uninstall()`` restores moto (tests).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from moto.sqs import models as sqs_models

WINDOW_S = 60.0
CONCURRENCY_SHARE = 0.10
CONCURRENCY_MIN_IN_FLIGHT = 30
PROCESSING_SHARE = 0.10

_lock = threading.Lock()
_originals: dict[str, Any] = {}


class _Usage:
    """Per queue: finished processing intervals per tenant (end time, seconds), pruned to the window."""

    def __init__(self) -> None:
        self.done: dict[str, deque[tuple[float, float]]] = {}

    def add(self, tenant: str, end: float, seconds: float) -> None:
        self.done.setdefault(tenant, deque()).append((end, max(0.0, seconds)))

    def recent(self, now: float) -> dict[str, float]:
        totals: dict[str, float] = {}
        for tenant, spans in list(self.done.items()):
            while spans and spans[0][0] < now - WINDOW_S:
                spans.popleft()
            if not spans:
                del self.done[tenant]
                continue
            totals[tenant] = sum(seconds for _, seconds in spans)
        return totals


def _tenant(message: Any) -> str:
    group = getattr(message, "group_id", None)
    return f"g:{group}" if group else f"m:{message.id}"


def _usage(queue: Any) -> _Usage:
    usage = getattr(queue, "_fair_usage", None)
    if usage is None:
        usage = _Usage()
        queue._fair_usage = usage
    return usage


def _finish(queue: Any, message: Any) -> None:
    started = getattr(message, "_fair_received_at", None)
    if started is None:
        return
    now = time.time()
    _usage(queue).add(_tenant(message), now, now - started)
    message._fair_received_at = None


def delivery_order(queue: Any, visible: list[Any], now: float | None = None) -> list[Any]:
    """The visible messages in the order a fair queue hands them out (stable within a tenant)."""
    if not any(getattr(m, "group_id", None) for m in visible):
        return visible
    now = time.time() if now is None else now
    in_flight: dict[str, int] = {}
    busy: dict[str, float] = {}
    for message in queue._messages:
        started = getattr(message, "_fair_received_at", None)
        if started is not None and not message.visible:
            tenant = _tenant(message)
            in_flight[tenant] = in_flight.get(tenant, 0) + 1
            busy[tenant] = busy.get(tenant, 0.0) + max(0.0, now - started)
    for tenant, seconds in _usage(queue).recent(now).items():
        busy[tenant] = busy.get(tenant, 0.0) + seconds
    total_in_flight = sum(in_flight.values())
    total_busy = sum(busy.values())

    def noisy(tenant: str) -> bool:
        held = in_flight.get(tenant, 0)
        if total_in_flight and held / total_in_flight > CONCURRENCY_SHARE and held >= CONCURRENCY_MIN_IN_FLIGHT:
            return True
        return bool(total_busy) and busy.get(tenant, 0.0) / total_busy > PROCESSING_SHARE

    ranked = []
    for index, message in enumerate(visible):
        tenant = _tenant(message)
        key = (1, in_flight.get(tenant, 0), index) if noisy(tenant) else (0, 0, index)
        ranked.append((key, message))
    ranked.sort(key=lambda pair: pair[0])
    return [message for _, message in ranked]


def _messages(self: Any) -> list[Any]:
    visible = _originals["messages"].fget(self)
    if getattr(self, "fifo_queue", False):
        return list(visible)
    return delivery_order(self, list(visible))


def _mark_received(self: Any, visibility_timeout: int | None = None) -> None:
    _originals["mark_received"](self, visibility_timeout)
    self._fair_received_at = time.time()


def _delete_message(self: Any, receipt_handle: str) -> None:
    for message in self._messages:
        if message.had_receipt_handle(receipt_handle):
            _finish(self, message)
            break
    _originals["delete_message"](self, receipt_handle)


def _change_message_visibility(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
    queue = self.get_queue(queue_name)
    _originals["change_message_visibility"](self, queue_name, receipt_handle, visibility_timeout)
    for message in queue._messages:
        if message.had_receipt_handle(receipt_handle):
            _finish(queue, message)  # the consumer gave it back: its processing ended here
            break


def install() -> None:
    """Make moto's standard queues deliver like SQS fair queues (idempotent)."""
    with _lock:
        if _originals:
            return
        _originals["messages"] = sqs_models.Queue.messages
        _originals["mark_received"] = sqs_models.Message.mark_received
        _originals["delete_message"] = sqs_models.Queue.delete_message
        _originals["change_message_visibility"] = sqs_models.SQSBackend.change_message_visibility
        sqs_models.Queue.messages = property(_messages)  # type: ignore[method-assign,assignment]
        sqs_models.Message.mark_received = _mark_received  # type: ignore[method-assign]
        sqs_models.Queue.delete_message = _delete_message  # type: ignore[method-assign]
        sqs_models.SQSBackend.change_message_visibility = _change_message_visibility  # type: ignore[method-assign]


def uninstall() -> None:
    with _lock:
        if not _originals:
            return
        sqs_models.Queue.messages = _originals.pop("messages")  # type: ignore[method-assign]
        sqs_models.Message.mark_received = _originals.pop("mark_received")  # type: ignore[method-assign]
        sqs_models.Queue.delete_message = _originals.pop("delete_message")  # type: ignore[method-assign]
        sqs_models.SQSBackend.change_message_visibility = _originals.pop("change_message_visibility")  # type: ignore[method-assign]
