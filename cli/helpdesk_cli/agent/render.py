"""What the person at the keyboard sees: progress lines while waiting, the outcome, notifications.

Text that comes from the server (rule messages, ticket notes, notification text) is written by other
people: control characters and escape sequences are stripped so it cannot drive the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TextIO

from helpdesk_cli.agent.client import RetryNotice
from helpdesk_cli.terminal import strip_controls, unfiltered

STATUS_TEXT = {
    "queued": "Request received, waiting in line",
    "creating": "Creating your ticket",
    "created": "Ticket created",
    "blocked": "Not submitted",
    "failed": "Could not create the ticket",
}
FINAL_STATUSES = frozenset({"created", "blocked", "failed"})
_SPINNER = "|/-\\"


def clean(text: object, *, limit: int = 2000) -> str:
    """Server text made safe to print: no escape sequences, no control characters but newline and tab."""
    value = strip_controls(str(text))
    return value if len(value) <= limit else value[: limit - 1] + "…"


def clock_time(at: object) -> str:
    """HH:MM:SS in local time for an ISO 8601 instant; empty when unreadable."""
    try:
        when = datetime.fromisoformat(str(at))
    except ValueError:
        return ""
    return (when.astimezone() if when.tzinfo else when).strftime("%H:%M:%S")


def render_timeline_event(event: Mapping[str, Any]) -> str:
    text = clean(event.get("text") or event.get("event") or "")
    stamp = clock_time(event.get("at"))
    return f"[{stamp}] {text}" if stamp else text


def render_notification(event: Mapping[str, Any]) -> str:
    stamp = clock_time(event.get("at"))
    text = clean(event.get("text") or event.get("event") or "")
    number = clean(event.get("ticket_number") or "")
    if number and number not in text:
        text = f"{number}: {text}"
    line = f"[{stamp}] {text}" if stamp else text
    detail = clean(event.get("detail") or "").strip()
    if detail and detail not in text:
        # e.g. the published note of a "reply": shown under the headline, indented
        line += "".join(f"\n    {part}" for part in detail.splitlines())
    return line


def render_outcome(doc: Mapping[str, Any]) -> str:
    """The final line for a submission in a final status."""
    status = doc.get("status")
    message = clean(doc.get("message") or "")
    if status == "created":
        number = clean(doc.get("ticket_number") or "") or f"id {doc.get('ticket_id')}"
        return f"Ticket {number} created."
    if status == "blocked":
        return "Your request was not submitted: " + (message or "it was blocked by your IT provider's rules.")
    if status == "failed":
        return "Sorry, your ticket could not be created: " + (
            message or "please try again later or call your IT provider."
        )
    return f"Status: {clean(status or 'unknown')}"


class Progress:
    """Progress on a terminal stream (stderr): one line per new timeline event, a spinner on a TTY."""

    def __init__(self, stream: TextIO, *, quiet: bool = False, tty: bool | None = None) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty() if tty is None else tty
        self._seen: set[tuple[str, str, str]] = set()
        self._status: str | None = None
        self._spin = 0
        self._spinner_shown = False

    def _clear_spinner(self) -> None:
        if self._spinner_shown:
            unfiltered(self.stream).write("\r\x1b[K")  # its own control sequence, past the filter
            self._spinner_shown = False

    def line(self, text: str) -> None:
        if self.quiet:
            return
        self._clear_spinner()
        self.stream.write(text + "\n")
        self.stream.flush()

    def retry(self, notice: RetryNotice) -> None:
        self.line(f"  {notice.reason}; trying again in {notice.delay:.1f}s (attempt {notice.attempt + 1})")

    def update(self, doc: Mapping[str, Any], elapsed: float | None = None) -> None:
        """Show what is new in a GET /v1/tickets/{id} answer."""
        timeline = doc.get("timeline")
        events = [e for e in timeline if isinstance(e, Mapping)] if isinstance(timeline, list) else []
        for event in events:
            key = (str(event.get("at")), str(event.get("event")), str(event.get("text")))
            if key not in self._seen:
                self._seen.add(key)
                self.line("  " + render_timeline_event(event))
        status = str(doc.get("status") or "")
        if status != self._status:
            self._status = status
            # a status the timeline already told (e.g. "queued": "Your request was received.") is not repeated
            if status and status not in FINAL_STATUSES and status not in {str(e.get("event")) for e in events}:
                self.line(f"  {STATUS_TEXT.get(status, clean(status))}…")
        if self.tty and not self.quiet and status not in FINAL_STATUSES and elapsed is not None:
            frame = _SPINNER[self._spin % len(_SPINNER)]
            self._spin += 1
            spinner = f"{frame} {STATUS_TEXT.get(status, clean(status))} ({elapsed:.0f}s)"
            unfiltered(self.stream).write("\r\x1b[K" + spinner)
            self.stream.flush()
            self._spinner_shown = True

    def done(self) -> None:
        self._clear_spinner()
        if not self.quiet:
            self.stream.flush()
