"""Press outcomes for the MSP admin: the tenant's submissions, newest first, filtered and searched (bounded),
one press in detail, the last day's counts, and re-queueing a press whose work message ended in the DLQ.

Pure use cases over ports: the submissions repository (tenant-scoped positions on the tenant's index) and a work
sender. Every read is bounded: a page reads at most MAX_SCANNED submissions whatever the filters, and answers
with a cursor to go on from where it stopped.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from helpdesk.admin.errors import Conflict, FieldError, Invalid, NotFound
from helpdesk.domain.ports import ConflictError, SubmissionRepository, WorkQueue
from helpdesk.domain.submission import (
    Submission,
    SubmissionStatus,
    TimelineEvent,
    TimelineEventKind,
)
from helpdesk.domain.work import SubmissionWork

MAX_PAGE = 100
DEFAULT_PAGE = 25
MAX_SCANNED = 500  # submissions read per page request, whatever the filters
MAX_SUMMARY_SCANNED = 2000
MAX_SEARCH = 100
MAX_TEXT = 2000
STALLED_AFTER = timedelta(minutes=30)  # a waiting press untouched this long lost its work message (crash, DLQ)
REQUEUE_PAUSE = timedelta(minutes=1)
_POSITION = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[A-Za-z0-9_-]{8,64}$")
_CURSOR_PREFIX = "p1:"


class Outcome(StrEnum):
    CREATED = "created"
    BLOCKED = "blocked"
    FAILED = "failed"
    WAITING = "waiting"  # queued or being created, retries still going
    DEAD_LETTER = "dead_letter"  # retries exhausted: the work message is in the dead-letter queue


def outcome_of(sub: Submission) -> Outcome:
    if sub.status is SubmissionStatus.CREATED:
        return Outcome.CREATED
    if sub.status is SubmissionStatus.BLOCKED:
        return Outcome.BLOCKED
    if sub.status is SubmissionStatus.FAILED:
        return Outcome.FAILED
    if sub.dead_lettered_at is not None and (sub.requeued_at is None or sub.requeued_at < sub.dead_lettered_at):
        return Outcome.DEAD_LETTER
    return Outcome.WAITING


def requeue_refusal(sub: Submission, now: datetime) -> str | None:
    """Why this press cannot be re-queued now (None: it can). Only presses that will not move on their own."""
    outcome = outcome_of(sub)
    if sub.status.final:
        return f"This press already ended ({outcome.value}); there is nothing to re-queue."
    if sub.requeued_at is not None and now - sub.requeued_at < REQUEUE_PAUSE:
        return "This press was re-queued less than a minute ago; wait for that attempt."
    if sub.lease_until is not None and sub.lease_until > now:
        return "A dispatcher run is working on this press right now."
    if outcome is Outcome.WAITING and now - sub.updated_at < STALLED_AFTER:
        return (
            "This press is still being retried; it can be re-queued once it has reached the dead-letter queue "
            f"(or {int(STALLED_AFTER.total_seconds() // 60)} minutes without progress)."
        )
    return None


def _clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


class PressView(BaseModel):
    """One press as the admin's list shows it."""

    id: str
    created_at: datetime
    updated_at: datetime
    outcome: Outcome
    status: SubmissionStatus
    name: str
    email: str
    hostname: str
    subject: str
    ticket_id: int | None = None
    ticket_number: str | None = None
    submission_errors: list[str] = Field(default_factory=list, description="ticket fields that fell back or dropped")
    rules_errors: list[str] = Field(default_factory=list, description="why the rules failed on this press")
    blocked_text: str | None = Field(default=None, description="what the user saw when the rules blocked the press")
    user_message: str | None = Field(default=None, description="what the user was told (failures, delays)")
    attempts: int
    last_error: str | None = Field(default=None, description="the last failure, for the admin (no secrets)")
    requeues: int = 0
    can_requeue: bool = False

    @classmethod
    def of(cls, sub: Submission, now: datetime) -> PressView:
        outcome = outcome_of(sub)
        return cls(
            id=sub.submission_id,
            created_at=sub.created_at,
            updated_at=sub.updated_at,
            outcome=outcome,
            status=sub.status,
            name=sub.contact.name,
            email=sub.contact.email,
            hostname=sub.machine.hostname,
            subject=sub.subject,
            ticket_id=sub.ticket_id,
            ticket_number=sub.ticket_number,
            submission_errors=list(sub.submission_errors),
            rules_errors=list(sub.rules_errors),
            blocked_text=sub.message if outcome is Outcome.BLOCKED else None,
            user_message=sub.message if outcome is not Outcome.BLOCKED else None,
            attempts=sub.attempts,
            last_error=_clip(sub.error, 1000),
            requeues=sub.requeues,
            can_requeue=requeue_refusal(sub, now) is None,
        )


class TimelineEntry(BaseModel):
    at: datetime
    event: str
    text: str
    visible: bool = Field(description="shown to the end user")


class PressDetail(PressView):
    msg: str
    selections: list[str] = Field(default_factory=list)
    append: str | None = None
    attachments: list[str] = Field(default_factory=list)
    contact_found: bool = Field(description="False: the catch-all contact was used")
    company: str | None = None
    configuration_item_id: int | None = None
    rule_warnings: list[str] = Field(default_factory=list)
    autotask_requests: int = 0
    dead_lettered_at: datetime | None = None
    requeued_at: datetime | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)


class PressPage(BaseModel):
    items: list[PressView]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page; null: no more")
    scanned: int = Field(description="presses read for this page (at most 500, whatever the filters)")
    scan_limited: bool = Field(
        description="the page stopped at the read limit before it was full; go on with the cursor"
    )


class OutcomeSummary(BaseModel):
    since: datetime
    hours: int
    total: int = 0
    created: int = 0
    blocked: int = 0
    failed: int = 0
    waiting: int = 0
    dead_letter: int = 0
    with_errors: int = Field(default=0, description="created with Submission Errors or rules errors")
    truncated: bool = Field(default=False, description=f"more than {MAX_SUMMARY_SCANNED} presses: counts are partial")


# ---------------------------------------------------------------------------------------------- cursor
def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    bad = Invalid(
        "The cursor is not valid: pass the next_cursor of an earlier page unchanged.",
        fields=[FieldError("cursor", "not a cursor from this API")],
    )
    if len(cursor) > 200:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise bad from None
    position = raw.removeprefix(_CURSOR_PREFIX)
    if not raw.startswith(_CURSOR_PREFIX) or not _POSITION.match(position):
        raise bad
    return position


def parse_outcomes(value: str | None) -> set[Outcome] | None:
    if value is None or not value.strip():
        return None
    wanted: set[Outcome] = set()
    for part in value.split(","):
        name = part.strip().lower()
        try:
            wanted.add(Outcome(name))
        except ValueError:
            allowed = ", ".join(o.value for o in Outcome)
            raise Invalid(
                f"Unknown outcome {name[:40]!r}: use one or more of {allowed} (comma-separated).",
                fields=[FieldError("outcome", f"one or more of {allowed}")],
            ) from None
    return wanted


def _matches(sub: Submission, outcomes: set[Outcome] | None, search: str | None) -> bool:
    if outcomes is not None and outcome_of(sub) not in outcomes:
        return False
    if search:
        return search in sub.contact.email.casefold() or search in sub.machine.hostname.casefold()
    return True


# ---------------------------------------------------------------------------------------------- use cases
class Presses:
    def __init__(self, submissions: SubmissionRepository, clock: Callable[[], datetime]) -> None:
        self.submissions = submissions
        self.clock = clock

    def list(
        self,
        tenant_id: str,
        *,
        outcomes: set[Outcome] | None = None,
        search: str | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> PressPage:
        if not 1 <= limit <= MAX_PAGE:
            raise Invalid(f"limit must be between 1 and {MAX_PAGE}.", fields=[FieldError("limit", "1-100")])
        needle = (search or "").strip().casefold() or None
        if needle is not None and len(needle) > MAX_SEARCH:
            raise Invalid(
                f"The search text is too long (at most {MAX_SEARCH} characters).",
                fields=[FieldError("q", "too long")],
            )
        after = decode_cursor(cursor) if cursor else None
        now = self.clock()
        items: list[PressView] = []
        scanned, more = 0, True
        while more and len(items) < limit and scanned < MAX_SCANNED:
            batch, more = self.submissions.page(tenant_id, limit=min(MAX_PAGE, MAX_SCANNED - scanned), after=after)
            for position, sub in batch:
                scanned += 1
                after = position
                if _matches(sub, outcomes, needle):
                    items.append(PressView.of(sub, now))
                    if len(items) >= limit:
                        more = more or position != batch[-1][0]
                        break
            if not batch:
                more = False
        return PressPage(
            items=items,
            next_cursor=encode_cursor(after) if more and after else None,
            scanned=scanned,
            scan_limited=more and len(items) < limit,
        )

    def _get(self, tenant_id: str, submission_id: str) -> Submission:
        sub = (
            self.submissions.get(tenant_id, submission_id)
            if re.fullmatch(r"[A-Za-z0-9_-]{8,64}", submission_id)
            else None
        )
        if sub is None:
            raise NotFound("No such press.")
        return sub

    def detail(self, tenant_id: str, submission_id: str) -> PressDetail:
        sub = self._get(tenant_id, submission_id)
        events = self.submissions.list_events(tenant_id, submission_id, limit=200)
        return self._detail(sub, events)

    def _detail(self, sub: Submission, events: Iterable[TimelineEvent]) -> PressDetail:
        base = PressView.of(sub, self.clock())
        return PressDetail(
            **base.model_dump(),
            msg=_clip(sub.msg) or "",
            selections=sub.selections,
            append=_clip(sub.append),
            attachments=[a.filename for a in sub.attachments],
            contact_found=not sub.resolved.catch_all_used,
            company=sub.resolved.business_name,
            configuration_item_id=sub.resolved.configuration_item_id,
            rule_warnings=sub.resolved.rule_warnings,
            autotask_requests=sub.autotask_requests,
            dead_lettered_at=sub.dead_lettered_at,
            requeued_at=sub.requeued_at,
            timeline=[TimelineEntry(at=e.at, event=e.event, text=e.text, visible=e.visible) for e in events],
        )

    def summary(self, tenant_id: str, *, hours: int = 24) -> OutcomeSummary:
        if not 1 <= hours <= 24 * 7:
            raise Invalid("hours must be between 1 and 168.", fields=[FieldError("hours", "1-168")])
        since = self.clock() - timedelta(hours=hours)
        result = OutcomeSummary(since=since, hours=hours)
        counts: dict[str, Any] = {o.value: 0 for o in Outcome}
        after: str | None = None
        scanned, more = 0, True
        while more and scanned < MAX_SUMMARY_SCANNED:
            batch, more = self.submissions.page(tenant_id, limit=MAX_PAGE, after=after, since=since)
            for position, sub in batch:
                scanned += 1
                after = position
                outcome = outcome_of(sub)
                counts[outcome.value] += 1
                if outcome is Outcome.CREATED and (sub.submission_errors or sub.rules_errors):
                    result.with_errors += 1
            if not batch:
                more = False
        result.truncated = more
        result.total = scanned
        for name, value in counts.items():
            setattr(result, name, value)
        return result

    def requeue(self, tenant_id: str, submission_id: str, queue: WorkQueue, *, by: str = "") -> PressDetail:
        """Send a fresh work message for a press that will not move on its own (dead-lettered or stalled).

        Safe to repeat: the dispatcher claims the press, skips it once final and resumes at the first Autotask step
        not recorded (looking up a possibly created ticket by externalID first), so a duplicate message can never
        create a second ticket. The message is sent first; the record of the re-queue follows."""
        sub = self._get(tenant_id, submission_id)
        now = self.clock()
        refusal = requeue_refusal(sub, now)
        if refusal is not None:
            raise Conflict(refusal)
        queue.send(SubmissionWork(tenant_id=tenant_id, submission_id=sub.submission_id))
        for _ in range(3):  # the dispatcher may be saving the same press: reload and apply again
            try:
                sub = self.submissions.save(sub.model_copy(update={"requeued_at": now, "requeues": sub.requeues + 1}))
                break
            except ConflictError:
                sub = self._get(tenant_id, submission_id)
        self.submissions.append_event(
            tenant_id,
            sub.submission_id,
            TimelineEvent(
                event=TimelineEventKind.QUEUED,
                text=f"Re-queued by an admin ({by[:100] or 'admin API'}).",
                visible=False,
            ),
        )
        return self.detail(tenant_id, sub.submission_id)
