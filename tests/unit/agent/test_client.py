"""The HTTP client: one submission id and one body across retries; clear errors; no sleeping (fake clock)."""

from __future__ import annotations

import pytest
import requests

from helpdesk_cli.agent.client import (
    AgentClient,
    AttachmentError,
    RejectedError,
    UnauthorizedError,
    UnreachableError,
)
from helpdesk_cli.agent.exitcodes import ExitCode
from helpdesk_cli.agent.retry import RetryPolicy
from tests.unit.agent.fakes import FakeClock, ScriptedSession, response

BODY = {"submission_id": "press-abc12345", "msg": "My printer is jammed"}
ACCEPTED = {"id": "press-abc12345", "status": "queued", "receipt": "hbr_1"}


def _client(script, clock=None, policy=None):
    clock = clock or FakeClock()
    session = ScriptedSession(script=list(script))
    notices = []
    client = AgentClient(
        "http://api.test/prod/",
        "hbk_key",
        session=session,  # type: ignore[arg-type]
        policy=policy or RetryPolicy(),
        timing=clock.timing(),
        on_retry=notices.append,
    )
    return client, session, clock, notices


def test_a_dropped_connection_is_retried_with_the_same_body_and_submission_id():
    # Given the connection drops after the request was sent, then the API answers
    client, session, clock, notices = _client(
        [requests.ConnectionError("('Connection aborted.', RemoteDisconnected('closed'))"), response(202, ACCEPTED)]
    )

    # When the button is pressed
    accepted = client.submit(BODY)

    # Then it was sent twice, byte for byte the same, and the answer is the first 202
    assert accepted.receipt == "hbr_1"
    assert [c.data for c in session.calls] == [session.calls[0].data] * 2
    assert session.calls[1].json["submission_id"] == "press-abc12345"
    assert session.calls[0].headers["Authorization"] == "Bearer hbk_key"
    assert session.calls[0].url == "http://api.test/prod/v1/tickets"
    assert len(clock.sleeps) == 1
    assert notices[0].reason == "connection closed before the answer arrived"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_are_retried(status):
    client, session, _clock, _ = _client([response(status, {"message": "boom"}), response(202, ACCEPTED)])
    assert client.submit(BODY).id == "press-abc12345"
    assert len(session.calls) == 2


def test_throttling_waits_at_least_retry_after():
    client, _session, clock, notices = _client([response(429, {}, {"Retry-After": "3"}), response(202, ACCEPTED)])

    client.submit(BODY)

    assert clock.sleeps == [3.0]
    assert notices[0].reason.startswith("HTTP 429")


def test_retries_back_off_exponentially_and_stop_within_the_time_budget():
    # Given the API never answers
    policy = RetryPolicy(base=0.5, cap=8.0, max_attempts=100, max_elapsed=30.0)
    client, session, clock, _ = _client([requests.ConnectTimeout("timed out")] * 100, policy=policy)

    # When pressing
    with pytest.raises(UnreachableError) as caught:
        client.submit(BODY)

    # Then the waits grew, the total stayed within the budget, and the message says what happened
    assert clock.sleeps[:4] == [0.375, 0.75, 1.5, 3.0]  # rand=0.5: three quarters of each ceiling
    assert sum(clock.sleeps) <= 30.0
    assert "No answer from the helpdesk API at http://api.test/prod" in caught.value.message
    assert "connection timed out" in caught.value.message
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert caught.value.maybe_delivered is False  # never connected: the request surely did not arrive
    assert all(c.data == session.calls[0].data for c in session.calls)


def test_a_timeout_after_sending_means_the_request_may_have_arrived():
    client, *_ = _client([requests.ReadTimeout("read timed out")] * 3, policy=RetryPolicy(max_attempts=3))
    with pytest.raises(UnreachableError) as caught:
        client.submit(BODY)
    assert caught.value.maybe_delivered is True


def test_a_wrong_key_is_a_clear_error_and_not_retried():
    client, session, clock, _ = _client([response(401, {"error": "unauthorized", "message": "unknown key"})])
    with pytest.raises(UnauthorizedError) as caught:
        client.submit(BODY)
    assert "button key was refused" in caught.value.message
    assert "HELPDESK_BUTTON_KEY" in caught.value.message
    assert caught.value.exit_code == ExitCode.UNAUTHORIZED
    assert len(session.calls) == 1 and clock.sleeps == []


def test_validation_errors_name_the_fields():
    doc = {"error": "validation_error", "message": "invalid", "fields": [{"field": "contact.email", "message": "bad"}]}
    client, session, _, _ = _client([response(422, doc)])
    with pytest.raises(RejectedError) as caught:
        client.submit(BODY)
    assert "contact.email: bad" in caught.value.message
    assert caught.value.exit_code == ExitCode.REJECTED
    assert len(session.calls) == 1


def test_a_reused_submission_id_with_another_body_is_explained():
    client, *_ = _client([response(409, {"error": "conflict", "message": "different body"})])
    with pytest.raises(RejectedError, match="already used for a different request"):
        client.submit(BODY)


def test_too_large_is_an_attachment_error():
    client, *_ = _client([response(413, {"message": "Request Entity Too Large"})])
    with pytest.raises(AttachmentError) as caught:
        client.submit(BODY)
    assert caught.value.exit_code == ExitCode.ATTACHMENT


def test_a_url_without_the_stage_gets_a_hint():
    client, *_ = _client([response(403, {"message": "Missing Authentication Token"})])
    with pytest.raises(UnreachableError, match="must be the stage URL"):
        client.submit(BODY)


def test_a_non_json_answer_is_reported_as_a_wrong_url():
    client, *_ = _client([response(200, b"<html>hello</html>")])
    with pytest.raises(UnreachableError, match="not JSON"):
        client.status("press-abc12345", "hbr_1")


def test_status_sends_the_receipt():
    client, session, *_ = _client([response(200, {"id": "press-abc12345", "status": "queued"})])
    assert client.status("press-abc12345", "hbr_1")["status"] == "queued"
    assert session.calls[0].headers["X-Receipt"] == "hbr_1"
    assert session.calls[0].url == "http://api.test/prod/v1/tickets/press-abc12345"


def test_the_presigned_upload_is_a_form_post_with_the_file_last_and_never_gets_the_button_key():
    from tests.unit.agent.fakes import multipart_file

    client, session, *_ = _client([requests.ConnectionError("reset"), response(204)])
    fields = {"Content-Type": "image/png", "key": "uploads/t/s/upl_1", "policy": "cG9saWN5", "x-amz-signature": "s"}
    client.post_upload("http://s3.test/bucket", fields, 'shot "1".png', "image/png", b"\x89PNG\r\n")
    assert [c.method for c in session.calls] == ["POST", "POST"]
    assert all("Authorization" not in c.headers for c in session.calls)
    content_type = session.calls[0].headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    body = session.calls[0].data
    assert multipart_file(body, content_type) == b"\x89PNG\r\n"
    assert body.index(b'name="x-amz-signature"') < body.index(b'name="file"')


def test_notifications_send_receipts_device_and_cursor():
    client, session, *_ = _client([response(200, {"events": [{"id": "e1", "text": "hi"}], "cursor": "c2"})])
    events, cursor = client.notifications("c 1", receipts=["hbr_1", "hbr_2"], device_id="dev-1")
    assert (events, cursor) == ([{"id": "e1", "text": "hi"}], "c2")
    call = session.calls[0]
    assert call.url == "http://api.test/prod/v1/notifications?since=c%201"
    assert call.headers["X-Receipt"] == "hbr_1,hbr_2"
    assert call.headers["X-Device-Id"] == "dev-1"


def test_late_attempts_only_get_what_is_left_of_the_budget():
    # Given a 20 s budget and answers that never come (each attempt times out)
    clock = FakeClock()
    timeouts = []

    class SlowSession(ScriptedSession):
        def request(self, method, url, *, data, headers, timeout):
            timeouts.append(timeout)
            clock.now += timeout[1]  # the attempt waited its full read timeout
            raise requests.ReadTimeout("read timed out")

    client = AgentClient(
        "http://api.test/prod",
        "k",
        session=SlowSession(),  # type: ignore[arg-type]
        policy=RetryPolicy(max_elapsed=20),
        timing=clock.timing(),
        timeout=(5, 30),
    )
    started = clock.now
    with pytest.raises(UnreachableError):
        client.submit(BODY)
    # Then the first attempt waited at most the budget, later ones what was left (at least 5 s)
    assert timeouts[0] == (5, 20)
    assert all(t[1] >= 5 for t in timeouts)
    assert clock.now - started <= 20 + 5 + 1
