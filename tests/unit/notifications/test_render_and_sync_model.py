"""Templates and keywords; what a re-read of the ticket means for the user."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk.domain.submission import Contact, Machine, Submission, TicketProgress, TimelineEvent
from helpdesk.domain.sync import COMPLETE_STATUS, Reply, TicketSnapshot, diff, initial_state
from helpdesk.domain.tenant import NotificationEvent, NotificationSettings
from helpdesk.notifications.render import notifies, render, render_event

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _sub() -> Submission:
    return Submission(
        tenant_id="acme",
        submission_id="sub-12345678",
        contact=Contact(name="Alice Mary Anders", email="Alice@Contoso.com"),
        machine=Machine(hostname="PC1"),
        msg="Printer broken",
        subject="Printer broken",
        fingerprint="x",
        progress=TicketProgress(ticket_id=7, ticket_number="T20261126.0001"),
    )


def _snap(status: int | None = 1, label: str | None = "New", **over: object) -> TicketSnapshot:
    fields: dict[str, object] = {
        "ticket_id": 7,
        "ticket_number": "T20261126.0001",
        "title": "Printer broken",
        "status": status,
        "status_label": label,
        "assigned_resource_name": "Terry Technician",
    }
    fields.update(over)
    return TicketSnapshot(**fields)  # type: ignore[arg-type]


def test_every_keyword_is_replaced_once_and_unknown_ones_stay() -> None:
    context = {"ticket_number": "T1", "actor": "__ticket_number__", "ticket_fname": "Al"}
    assert render("__ticket_number__ by __actor__ for __ticket_fname__ __nope__", context) == (
        "T1 by __ticket_number__ for Al __nope__"
    )


def test_values_are_plain_one_line_text() -> None:
    assert render("Hi __actor__", {"actor": "Terry\n\x07 Tech\t"}) == "Hi Terry Tech"


def test_each_event_renders_from_the_tenants_template_with_the_users_details() -> None:
    settings = NotificationSettings(
        templates={
            NotificationEvent.STATUS_CHANGED: "__ticket_fname__ __ticket_lname__ <__ticket_email__>: "
            "__ticket_number__ (__ticket_subject__) is now __status__, says __actor__ [__ticket_name__]",
        }
    )
    event = TimelineEvent(
        at=NOW,
        event="status_changed",
        text="",
        data={"status": "In Progress", "actor": "Terry Technician", "ticket_title": "Printer on fire"},
    )
    got = render_event(settings, _sub(), event)
    assert got.text == (
        "Alice Mary Anders <alice@contoso.com>: T20261126.0001 (Printer on fire) is now In Progress, "
        "says Terry Technician [Alice Mary Anders]"
    )
    reply = TimelineEvent(at=NOW, event="reply", data={"reply": "Please restart it", "actor": None})
    rendered = render_event(NotificationSettings(), _sub(), reply)
    assert rendered.text == "New reply on ticket T20261126.0001 from your technician"
    assert rendered.detail == "Please restart it"


def test_the_tenant_chooses_which_events_notify() -> None:
    only_replies = NotificationSettings(events=[NotificationEvent.REPLY])
    assert notifies(only_replies, TimelineEvent(event="reply"))
    assert not notifies(only_replies, TimelineEvent(event="status_changed"))
    assert notifies(only_replies, TimelineEvent(event="blocked", text="No tickets until payment."))
    assert not notifies(NotificationSettings(), TimelineEvent(event="queued"))
    assert not notifies(NotificationSettings(), TimelineEvent(event="reply", visible=False))


# ------------------------------------------------------------------------------------------------ sync model
def test_first_sync_of_an_untouched_ticket_says_nothing() -> None:
    result = diff(initial_state(7, "New"), _snap(), [], now=NOW)
    assert result.events == [] and result.state is not None and result.state.status == 1


def test_a_status_change_and_a_published_reply_become_two_events() -> None:
    state = initial_state(7, "New")
    replies = [Reply(note_id=50, title="Update", text="We are on it", actor="Terry Technician")]
    result = diff(state, _snap(status=8, label="In Progress"), replies, now=NOW)
    kinds = [(e.event, e.text) for e in result.events]
    assert kinds == [
        ("reply", "Terry Technician: We are on it"),
        ("status_changed", "Ticket T20261126.0001 is now In Progress."),
    ]
    assert result.state is not None and result.state.last_note_id == 50 and result.state.pending == result.events
    assert result.events[1].data["previous_status"] == "New"


def test_the_same_read_again_changes_nothing() -> None:
    first = diff(initial_state(7, "New"), _snap(status=8, label="In Progress"), [Reply(50, "t", "x", None)], now=NOW)
    assert first.state is not None
    state = first.state.model_copy(update={"pending": [], "revision": 1})
    second = diff(state, _snap(status=8, label="In Progress"), [Reply(50, "t", "x", None)], now=NOW)
    assert second.events == []


def test_completion_is_one_completed_event_and_reopening_is_a_status_change() -> None:
    state = initial_state(7, "New").model_copy(update={"status": 8, "status_label": "In Progress", "revision": 3})
    done = diff(state, _snap(status=COMPLETE_STATUS, label="Complete"), [], now=NOW)
    assert [e.event for e in done.events] == ["completed"]
    assert done.state is not None and done.state.completed
    reopened = diff(done.state.model_copy(update={"revision": 4}), _snap(status=8, label="In Progress"), [], now=NOW)
    assert [e.event for e in reopened.events] == ["status_changed"]


def test_skipped_notes_only_move_the_baseline() -> None:
    result = diff(initial_state(7, "New"), _snap(), [Reply(60, "own", "internal", None, skip=True)], now=NOW)
    assert result.events == [] and result.state is not None and result.state.last_note_id == 60


def test_event_ids_are_stable_for_the_same_baseline() -> None:
    state = initial_state(7, "New")
    a = diff(state, _snap(status=8, label="In Progress"), [Reply(1, "t", "x", None)], now=NOW)
    b = diff(state, _snap(status=8, label="In Progress"), [Reply(1, "t", "x", None)], now=NOW)
    assert [e.event_id for e in a.events] == [e.event_id for e in b.events]


def test_the_admin_preview_renders_every_event_and_names_unknown_keywords() -> None:
    from helpdesk.notifications.render import preview, unknown_keywords

    shown = preview(NotificationSettings())
    assert shown["status_changed"] == "Ticket T20261126.0004 is now In Progress"
    assert set(shown) == {"created", "status_changed", "reply", "completed"}
    assert unknown_keywords("__ticket_number__ __tiket_subject__ __actor__ __foo__") == ["foo", "tiket_subject"]
