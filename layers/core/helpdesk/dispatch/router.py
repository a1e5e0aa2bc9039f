"""Routes a work message to its use case. Each use case raises on a failure that should be retried.

Use cases register per work kind (`register("submission", CreateTicket(deps))`); the dispatcher handler builds
them at cold start. A handler is called as `handler(message, attempt=<receive count>)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from helpdesk.domain.work import SubmissionWork, SyncWork

Handler = Callable[..., Any]
_HANDLERS: dict[str, Handler] = {}


class UnsupportedWork(RuntimeError):
    """No use case handles this work message (yet)."""


def register(kind: str, handler: Handler) -> None:
    _HANDLERS[kind] = handler


def registered() -> dict[str, Handler]:
    return dict(_HANDLERS)


def handle(message: SubmissionWork | SyncWork, *, attempt: int = 1) -> Any:
    handler = _HANDLERS.get(message.kind)
    if handler is None:
        raise UnsupportedWork(f"no handler for work kind {message.kind!r}")
    return handler(message, attempt=attempt)
