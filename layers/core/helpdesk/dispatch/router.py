"""Routes a work message to its use case. Each use case raises on failure so the record is retried."""

from __future__ import annotations

from helpdesk.domain.work import SubmissionWork, SyncWork


class UnsupportedWork(RuntimeError):
    """No use case handles this work message (yet)."""


def handle(message: SubmissionWork | SyncWork) -> None:
    raise UnsupportedWork(f"no handler for work kind {message.kind!r}")
