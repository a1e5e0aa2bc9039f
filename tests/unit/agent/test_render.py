"""Rendering: progress lines, outcomes and notifications; server text cannot drive the terminal."""

from __future__ import annotations

import io

from helpdesk_cli.agent.client import RetryNotice
from helpdesk_cli.agent.render import Progress, clean, render_notification, render_outcome


def test_clean_strips_escape_sequences_and_control_characters():
    hostile = "Hi\x1b[2J\x1b]0;pwned\x07 there\x07\r\u202e!\n\tok"
    assert clean(hostile) == "Hi there!\n\tok"


def test_clean_bounds_the_length():
    assert len(clean("x" * 5000, limit=100)) == 100


def test_outcome_of_a_created_ticket_shows_its_number():
    assert render_outcome({"status": "created", "ticket_number": "T20261126.0004"}) == "Ticket T20261126.0004 created."


def test_outcome_of_a_blocked_submission_is_the_rule_text():
    doc = {"status": "blocked", "message": "Ticket submission disabled until payment."}
    assert render_outcome(doc) == "Your request was not submitted: Ticket submission disabled until payment."


def test_outcome_of_a_failure_is_friendly_even_without_a_message():
    assert render_outcome({"status": "failed", "message": None}).startswith("Sorry, your ticket could not be created: ")


def test_notifications_show_the_time_and_the_rendered_text():
    line = render_notification(
        {"at": "2026-11-26T20:00:00+00:00", "ticket_number": "T1", "text": "Ticket T1 is now In Progress"}
    )
    assert line.endswith("] Ticket T1 is now In Progress")
    assert render_notification({"text": "New reply", "ticket_number": "T1"}) == "T1: New reply"


def test_progress_prints_each_timeline_event_once_and_status_changes():
    stream = io.StringIO()
    progress = Progress(stream, tty=False)
    received = {"at": "2026-11-26T20:00:00Z", "event": "received", "text": "Request received"}

    progress.update({"status": "queued", "timeline": [received]}, 0.1)
    progress.update({"status": "queued", "timeline": [received]}, 0.6)
    progress.update({"status": "creating", "timeline": [received, {"event": "creating", "text": "Creating"}]}, 1.2)
    progress.update({"status": "created", "timeline": []}, 2.0)

    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("] Request received")
    assert lines[1:] == ["  Request received, waiting in line…", "  Creating"]  # "creating" told by its event
    assert "\r" not in stream.getvalue()  # no spinner when not a terminal


def test_progress_on_a_terminal_spins_and_clears_before_lines():
    stream = io.StringIO()
    progress = Progress(stream, tty=True)
    progress.update({"status": "queued"}, 1.0)
    progress.line("next")
    assert "\r\x1b[K| Request received, waiting in line (1s)\r\x1b[Knext\n" in stream.getvalue()


def test_quiet_progress_prints_nothing():
    stream = io.StringIO()
    progress = Progress(stream, quiet=True, tty=True)
    progress.update({"status": "queued", "timeline": [{"text": "x"}]}, 1.0)
    progress.retry(RetryNotice(attempt=1, reason="connection reset", delay=0.5))
    progress.done()
    assert stream.getvalue() == ""


def test_retries_are_shown():
    stream = io.StringIO()
    Progress(stream, tty=False).retry(RetryNotice(attempt=1, reason="connection reset", delay=0.5))
    assert stream.getvalue() == "  connection reset; trying again in 0.5s (attempt 2)\n"


def test_a_reply_shows_the_note_under_the_headline():
    event = {
        "text": "your technician replied on T1",
        "detail": "Please restart Outlook.\nThen try again.",
        "ticket_number": "T1",
    }
    assert (
        render_notification(event) == "your technician replied on T1\n    Please restart Outlook.\n    Then try again."
    )


def test_a_status_the_timeline_already_told_is_not_repeated():
    stream = io.StringIO()
    Progress(stream, tty=False).update(
        {"status": "queued", "timeline": [{"event": "queued", "text": "Your request was received."}]}, 0.1
    )
    assert stream.getvalue() == "  Your request was received.\n"
