"""What a ticket re-read means for the end user (pure).

`SyncState` is the baseline kept per submission: the status, assigned resource and last published note seen at
the last sync. `diff()` compares a fresh read of the ticket with it and returns the timeline events to append
(status changed, new reply, completed) and the new baseline. Event ids are derived from the baseline revision and
the note ids, so appending them again after a crash or a redelivery stores nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.domain.submission import TimelineEvent, TimelineEventKind
from helpdesk.domain.tenant import utcnow

COMPLETE_STATUS = 5  # Autotask's system status "Complete" (value 5 in every database)
MAX_REPLIES_PER_SYNC = 20
MAX_REPLY_CHARS = 1000


class SyncState(BaseModel):
    """The baseline of one submission's ticket (stored next to the submission)."""

    model_config = ConfigDict(extra="ignore")

    ticket_id: int
    status: int | None = None
    status_label: str | None = None
    assigned_resource_id: int | None = None
    last_note_id: int = Field(default=0, ge=0)
    completed: bool = False
    last_activity: datetime | None = None
    synced_at: datetime | None = None
    syncs: int = Field(default=0, ge=0)
    pending: list[TimelineEvent] = Field(
        default_factory=list, description="events decided by the last sync, appended right after it was saved"
    )
    revision: int = Field(default=0, ge=0)


@dataclass(frozen=True)
class TicketSnapshot:
    """The facts a sync reads from Autotask."""

    ticket_id: int
    ticket_number: str | None
    title: str | None
    status: int | None
    status_label: str | None
    assigned_resource_id: int | None = None
    assigned_resource_name: str | None = None
    last_activity: datetime | None = None
    completed_date: datetime | None = None


@dataclass(frozen=True)
class Reply:
    """A note published to the end user."""

    note_id: int
    title: str
    text: str
    actor: str | None
    created_at: datetime | None = None
    skip: bool = False  # published but not news for the user (their own reply, our own note): baseline only


@dataclass
class SyncResult:
    events: list[TimelineEvent] = field(default_factory=list)
    state: SyncState | None = None


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def initial_state(ticket_id: int, default_status_label: str | None) -> SyncState:
    """Before the first sync: the ticket as created (the tenant's default status label, no reply seen)."""
    return SyncState(ticket_id=ticket_id, status_label=default_status_label)


def diff(state: SyncState, ticket: TicketSnapshot, replies: list[Reply], *, now: datetime | None = None) -> SyncResult:
    """Events for the changes since `state`, and the new baseline (revision unchanged: the store bumps it)."""
    at = now or utcnow()
    rev = state.revision + 1
    events: list[TimelineEvent] = []
    number = ticket.ticket_number or str(ticket.ticket_id)
    common: dict[str, str | int | None] = {
        "ticket_id": ticket.ticket_id,
        "ticket_number": ticket.ticket_number,
        "ticket_title": ticket.title,
    }

    for reply in sorted(replies, key=lambda r: r.note_id)[:MAX_REPLIES_PER_SYNC]:
        if reply.note_id <= state.last_note_id or reply.skip:
            continue
        body = _clip(reply.text or reply.title, MAX_REPLY_CHARS)
        events.append(
            TimelineEvent(
                at=at,
                event=TimelineEventKind.REPLY.value,
                text=f"{reply.actor or 'Your technician'}: {body}"[:2000],
                event_id=f"sync:reply:{ticket.ticket_id}:{reply.note_id}",
                data={**common, "actor": reply.actor, "note_id": reply.note_id, "reply": body},
            )
        )

    completed = ticket.status == COMPLETE_STATUS
    status_changed = ticket.status is not None and (
        (state.status is not None and ticket.status != state.status)
        or (
            state.status is None
            and ticket.status_label is not None
            and (state.status_label or "").casefold() != ticket.status_label.casefold()
        )
    )
    label = ticket.status_label or (str(ticket.status) if ticket.status is not None else "")
    if status_changed and completed and not state.completed:
        events.append(
            TimelineEvent(
                at=at,
                event=TimelineEventKind.COMPLETED.value,
                text=f"Ticket {number} is complete.",
                event_id=f"sync:completed:{ticket.ticket_id}:{rev}",
                data={**common, "status": label, "actor": ticket.assigned_resource_name},
            )
        )
    elif status_changed:
        events.append(
            TimelineEvent(
                at=at,
                event=TimelineEventKind.STATUS_CHANGED.value,
                text=f"Ticket {number} is now {label}.",
                event_id=f"sync:status:{ticket.ticket_id}:{rev}:{ticket.status}",
                data={
                    **common,
                    "status": label,
                    "previous_status": state.status_label,
                    "actor": ticket.assigned_resource_name,
                },
            )
        )

    note_ids = [r.note_id for r in replies]
    new_state = state.model_copy(
        update={
            "status": ticket.status if ticket.status is not None else state.status,
            "status_label": ticket.status_label or state.status_label,
            "assigned_resource_id": ticket.assigned_resource_id,
            "last_note_id": max([state.last_note_id, *note_ids]),
            "completed": completed,
            "last_activity": ticket.last_activity or state.last_activity,
            "synced_at": at,
            "syncs": state.syncs + 1,
            "pending": events,
        }
    )
    return SyncResult(events=events, state=new_state)
