"""Notification text from the tenant's templates (pure).

Keywords (the original product's): `__ticket_number__ __ticket_subject__ __ticket_name__ __ticket_fname__
__ticket_lname__ __ticket_email__ __actor__`, plus `__status__` (the new status label; used by the default
status template), `__previous_status__` and `__reply__` (the published note's text, shortened). Unknown
`__words__` are left as they are, so a typo shows up in the admin's preview instead of vanishing. Values are
plain text: control characters are removed and whitespace collapsed (a toast is one short paragraph).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from helpdesk.domain.submission import Submission, TimelineEvent
from helpdesk.domain.tenant import DEFAULT_TEMPLATES, NotificationEvent, NotificationSettings

KEYWORDS = (
    "ticket_number",
    "ticket_subject",
    "ticket_name",
    "ticket_fname",
    "ticket_lname",
    "ticket_email",
    "actor",
    "status",
    "previous_status",
    "reply",
)
ALWAYS_SHOWN = frozenset({"blocked", "failed"})  # the direct answer to a press: not a tenant choice
MAX_TEXT = 1000
MAX_DETAIL = 1000
DEFAULT_ACTOR = "your technician"
_KEYWORD = re.compile(r"__([a-z_]{2,40})__")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(value: object, limit: int = 300) -> str:
    text = " ".join(_CONTROL.sub(" ", "" if value is None else str(value)).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render(template: str, context: Mapping[str, str]) -> str:
    """Replace `__keyword__` with the context's value (one pass: values are never re-expanded)."""

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        return context[name] if name in context else match.group(0)

    return clean(_KEYWORD.sub(swap, template), MAX_TEXT)


def context_for(submission: Submission, event: TimelineEvent) -> dict[str, str]:
    """Keyword values for one event of one submission (contact as the user typed it; ticket as Autotask has it)."""
    data = event.data
    contact = submission.contact
    number = data.get("ticket_number") or submission.ticket_number or ""
    return {
        "ticket_number": clean(number, 40),
        "ticket_subject": clean(data.get("ticket_title") or submission.subject, 255),
        "ticket_name": clean(contact.name, 100),
        "ticket_fname": clean(contact.first_name, 100),
        "ticket_lname": clean(contact.last_name, 100),
        "ticket_email": clean(contact.email, 254),
        "actor": clean(data.get("actor") or DEFAULT_ACTOR, 100),
        "status": clean(data.get("status") or "", 100),
        "previous_status": clean(data.get("previous_status") or "", 100),
        "reply": clean(data.get("reply") or "", 500),
    }


@dataclass(frozen=True)
class Rendered:
    text: str
    detail: str | None


def notifies(settings: NotificationSettings, event: TimelineEvent) -> bool:
    """Does this timeline event become a desktop notification for this tenant?"""
    if not event.visible:
        return False
    if event.event in ALWAYS_SHOWN:
        return True
    try:
        kind = NotificationEvent(event.event)
    except ValueError:
        return False
    return kind in settings.events


def render_event(settings: NotificationSettings, submission: Submission, event: TimelineEvent) -> Rendered:
    if event.event in ALWAYS_SHOWN:
        return Rendered(text=clean(event.text, MAX_TEXT), detail=None)
    kind = NotificationEvent(event.event)
    template = settings.templates.get(kind) or DEFAULT_TEMPLATES[kind]
    context = context_for(submission, event)
    detail = clean(event.data.get("reply"), MAX_DETAIL) if kind is NotificationEvent.REPLY else None
    return Rendered(text=render(template, context), detail=detail or None)


SAMPLE_CONTEXT: dict[str, str] = {
    "ticket_number": "T20261126.0004",
    "ticket_subject": "Outlook crashes when I open the calendar",
    "ticket_name": "Alice Anders",
    "ticket_fname": "Alice",
    "ticket_lname": "Anders",
    "ticket_email": "alice@contoso.com",
    "actor": "Terry Technician",
    "status": "In Progress",
    "previous_status": "New",
    "reply": "Please restart Outlook once, then try again.",
}


def unknown_keywords(template: str) -> list[str]:
    """`__words__` in a template that are not keywords (for the admin's warning: they stay as typed)."""
    return sorted({m.group(1) for m in _KEYWORD.finditer(template) if m.group(1) not in KEYWORDS})


def preview(settings: NotificationSettings) -> dict[str, str]:
    """Each event's template rendered with sample values (the admin's settings page preview)."""
    return {
        kind.value: render(settings.templates.get(kind) or DEFAULT_TEMPLATES[kind], SAMPLE_CONTEXT)
        for kind in NotificationEvent
    }
