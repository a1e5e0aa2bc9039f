"""GET /v1/notifications: an agent's new notification events, rendered from its tenant's templates.

Which submissions an agent may read: those whose receipts it presents (`X-Receipt: r1,r2,...`; a receipt that is
unknown, expired or wrong is skipped, never an error that would block the others) and/or those it submitted with
a device id (`X-Device-Id`, registered at submit time). Everything is scoped to the tenant of the button key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from helpdesk.domain.ports import FeedStore
from helpdesk.domain.submission import StoredEvent, Submission, submission_id_of_receipt
from helpdesk.domain.tenant import Tenant

from .cursor import Cursor, InvalidCursor, next_page
from .render import notifies, render_event

MAX_RECEIPTS = 50
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
DEVICE_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"

__all__ = ["FeedAnswer", "FeedError", "FeedEvent", "FeedService", "InvalidCursor"]


class FeedEvent(BaseModel):
    id: str = Field(description="Stable id of the event (use it to de-duplicate toasts if you must)")
    submission_id: str
    ticket_number: str | None = None
    event: str = Field(description="created | status_changed | reply | completed | blocked | failed")
    text: str = Field(description="Rendered from the tenant's template for this event: show it as the toast")
    detail: str | None = Field(default=None, description="For replies: the technician's published note (shortened)")
    at: datetime


class FeedAnswer(BaseModel):
    events: list[FeedEvent]
    cursor: str = Field(description="Pass as `since` next time; opaque")
    more: bool = Field(default=False, description="More events are waiting: ask again at once with `cursor`")


class FeedError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass
class FeedService:
    store: FeedStore
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def read(
        self,
        tenant: Tenant,
        *,
        receipts: list[str],
        device_id: str | None,
        since: str | None,
        limit: int = DEFAULT_LIMIT,
    ) -> FeedAnswer:
        try:
            cursor = Cursor.decode(since)
        except InvalidCursor as exc:
            raise FeedError(422, "validation_error", str(exc), "since") from None
        if not receipts and not device_id:
            raise FeedError(
                422, "validation_error", "Send X-Receipt (the receipts you hold) and/or X-Device-Id.", "X-Receipt"
            )
        if len(receipts) > MAX_RECEIPTS:
            raise FeedError(422, "validation_error", f"At most {MAX_RECEIPTS} receipts per request.", "X-Receipt")
        tid = tenant.tenant_id
        submissions: dict[str, Submission] = {}
        for receipt in receipts:
            sid = submission_id_of_receipt(receipt)
            if sid is None or sid in submissions:
                continue
            sub = self.store.get(tid, sid)
            if sub is not None and sub.receipt_matches(receipt):
                submissions[sid] = sub
        if receipts and not submissions and not device_id:
            raise FeedError(404, "not_found", "None of these receipts belongs to a submission of yours.")

        items: list[StoredEvent] = []
        for sid in submissions:
            items.extend(self.store.events_since(tid, sid, cursor.floor))
        if device_id:
            for item in self.store.device_events_since(tid, device_id, cursor.floor):
                sub = submissions.get(item.submission_id) or self.store.get(tid, item.submission_id)
                if sub is None or sub.device_id != device_id:
                    continue
                submissions[item.submission_id] = sub
                items.append(item)

        settings = tenant.notifications
        wanted = [i for i in items if notifies(settings, i.event)]
        page = next_page(
            wanted,
            cursor,
            feed_id=lambda i: i.feed_id,
            at=lambda i: i.event.at,
            now=self.now(),
            limit=max(1, min(limit, MAX_LIMIT)),
        )
        events = []
        for item in page.items:
            sub = submissions[item.submission_id]
            rendered = render_event(settings, sub, item.event)
            number = item.event.data.get("ticket_number") or sub.ticket_number
            events.append(
                FeedEvent(
                    id=item.feed_id,
                    submission_id=item.submission_id,
                    ticket_number=str(number) if number else None,
                    event=item.event.event,
                    text=rendered.text,
                    detail=rendered.detail,
                    at=item.event.at,
                )
            )
        return FeedAnswer(events=events, cursor=page.cursor.encode(), more=page.more)
