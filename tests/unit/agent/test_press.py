"""`helpdesk press` end to end against an in-memory API: outcomes, exit codes, uploads, watch."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
import requests

from helpdesk_cli import main as cli_main
from helpdesk_cli.agent.client import AgentClient
from helpdesk_cli.agent.exitcodes import ExitCode
from helpdesk_cli.agent.facts import MachineFacts
from helpdesk_cli.agent.files import MB
from helpdesk_cli.agent.retry import RetryPolicy
from helpdesk_cli.press import PressOptions, new_submission_id, press
from tests.unit.agent.fakes import FakeApi, FakeClock, response

FACTS = MachineFacts(
    hostname="ann-pc", ip="10.0.0.5", mac="02:00:00:00:00:01", username="ann", domain="CONTOSO", os="X"
)
CREATED = {"status": "created", "ticket_id": 42, "ticket_number": "T20261126.0004", "message": None}


def _press(api: FakeApi, key: str = "hbk_good", **overrides):
    clock = FakeClock()
    client = AgentClient(
        "http://api.test/prod", key, session=api, policy=RetryPolicy(max_elapsed=30), timing=clock.timing()
    )  # type: ignore[arg-type]
    opts = PressOptions(
        **{"message": "My printer is jammed", "name": "Ann Smith", "email": "ann@contoso.com", **overrides}
    )
    out, err = io.StringIO(), io.StringIO()
    code = press(opts, client, out=out, err=err, facts=FACTS)
    return code, out.getvalue(), err.getvalue(), clock


def test_a_press_follows_the_submission_and_prints_the_ticket_number():
    api = FakeApi(statuses=[{"status": "queued"}, {"status": "creating"}, CREATED])

    code, out, err, _ = _press(api, selections=["This is an emergency"])

    assert code == ExitCode.CREATED == 0
    assert out == "Ticket T20261126.0004 created.\n"
    assert "Creating your ticket…" in err
    (body,) = [c.json for c in api.calls if c.method == "POST"]
    assert body["selections"] == ["This is an emergency"]
    assert body["machine"] == FACTS.as_payload()
    assert body["contact"] == {"name": "Ann Smith", "email": "ann@contoso.com", "phone": None, "business_name": None}
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,64}", body["submission_id"])


def test_submission_ids_are_new_per_press_and_valid():
    ids = {new_submission_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{8,64}", i) for i in ids)


def test_a_dropped_connection_resends_the_same_press_and_makes_one_submission():
    api = FakeApi(statuses=[CREATED], faults=[requests.ConnectionError("Connection aborted")])

    code, *_ = _press(api)

    posts = [c for c in api.calls if c.method == "POST"]
    assert code == ExitCode.CREATED
    assert len(posts) == 2 and posts[0].data == posts[1].data
    assert len(api.submissions) == 1


@pytest.mark.parametrize(
    ("final", "code", "text"),
    [
        (
            {"status": "blocked", "message": "Ticket submission disabled until payment."},
            ExitCode.BLOCKED,
            "Your request was not submitted: Ticket submission disabled until payment.",
        ),
        (
            {"status": "failed", "message": "Autotask refused the credentials"},
            ExitCode.FAILED,
            "Sorry, your ticket could not be created: Autotask refused the credentials",
        ),
    ],
)
def test_blocked_and_failed_print_the_message_and_exit_non_zero(final, code, text):
    code_seen, out, _, _ = _press(FakeApi(statuses=[{"status": "queued"}, final]))
    assert code_seen == code != 0
    assert out.strip() == text


def test_still_pending_after_the_wait_timeout_exits_9_without_sleeping_for_real():
    code, _, err, clock = _press(FakeApi(statuses=[{"status": "queued"}]), wait_timeout=10)
    assert code == ExitCode.PENDING == 9
    assert "not finished after 10s" in err
    assert sum(clock.sleeps) <= 10
    assert max(clock.sleeps) <= 3.0  # polling interval is bounded


def test_a_wrong_key_exits_5_with_a_clear_message():
    code, out, err, _ = _press(FakeApi(statuses=[CREATED]), key="hbk_wrong")
    assert code == ExitCode.UNAUTHORIZED == 5
    assert "button key was refused" in err and out == ""


def test_an_unreachable_api_exits_6_and_says_how_to_retry_safely():
    api = FakeApi(statuses=[CREATED], faults=[requests.ReadTimeout("slow")] * 50)
    code, _, err, clock = _press(api, submission_id="press-fixed-id-1")
    assert code == ExitCode.UNREACHABLE == 6
    assert "--submission-id press-fixed-id-1" in err
    assert sum(clock.sleeps) <= 30


def test_a_file_over_6_mb_exits_7_before_anything_is_sent(tmp_path):
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:
        fh.truncate(7 * MB)
    api = FakeApi(statuses=[CREATED])
    code, _, err, _ = _press(api, attachments=[str(big)])
    assert code == ExitCode.ATTACHMENT == 7
    assert "over the 6 MB limit" in err
    assert api.calls == []


def test_small_attachments_go_inline_and_large_ones_through_a_presigned_upload(tmp_path: Path):
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"\x89PNG" + b"\x00" * 100)
    report = tmp_path / "report.txt"
    report.write_bytes(b"L" * (2 * MB))
    api = FakeApi(statuses=[CREATED])

    code, *_ = _press(api, attachments=[str(shot), str(report)])

    assert code == ExitCode.CREATED
    assert [(c.method, c.url.split("?")[0]) for c in api.calls[:3]] == [
        ("POST", "http://api.test/prod/v1/uploads"),
        ("POST", "http://s3.local/bucket/up1"),
        ("POST", "http://api.test/prod/v1/tickets"),
    ]
    upload_request = api.calls[0].json
    assert upload_request["size"] == 2 * MB and upload_request["filename"] == "report.txt"
    assert api.uploads["http://s3.local/bucket/up1"] == report.read_bytes()
    attachments = api.calls[2].json["attachments"]
    assert attachments[0] == {
        "filename": "shot.png",
        "content_type": "image/png",
        "data_base64": base64.b64encode(shot.read_bytes()).decode(),
    }
    assert attachments[1] == {"filename": "report.txt", "content_type": "text/plain", "upload_id": "up1"}


def test_a_reused_submission_id_with_another_body_exits_8():
    api = FakeApi(statuses=[CREATED])
    api.submissions["press-fixed-id-1"] = b"{}"
    code, _, err, _ = _press(api, submission_id="press-fixed-id-1")
    assert code == ExitCode.REJECTED == 8
    assert "already used" in err


@pytest.mark.parametrize(
    ("field", "value"), [("submission_id", "short"), ("submission_id", "bad id!"), ("message", "  ")]
)
def test_bad_input_is_a_usage_error(field, value):
    api = FakeApi(statuses=[CREATED])
    code, *_ = _press(api, **{field: value})
    assert code == ExitCode.USAGE == 2
    assert api.calls == []


def test_no_wait_prints_id_and_receipt():
    code, out, *_ = _press(FakeApi(statuses=[CREATED]), wait=False, submission_id="press-fixed-id-1")
    assert code == 0
    assert '"receipt": "hbr_press-fixed-id-1"' in out


def test_watch_shows_each_notification_once_and_keeps_going_through_outages():
    api = FakeApi(
        statuses=[CREATED],
        notifications=[
            [{"id": "n1", "at": "2026-11-26T20:00:00Z", "ticket_number": "T1", "text": "Ticket T1 is now In Progress"}],
            [{"id": "n1", "text": "Ticket T1 is now In Progress"}, {"id": "n2", "text": "New reply from Bob"}],
        ],
    )
    code, out, _err, clock = _press(api, watch=True, poll_interval=0.1, max_watch_seconds=10)

    assert code == ExitCode.CREATED
    lines = out.splitlines()
    assert lines[0] == "Ticket T20261126.0004 created."
    assert lines[1].endswith("Ticket T1 is now In Progress")
    assert lines[2:] == ["New reply from Bob"]
    assert set(clock.sleeps[-3:]) == {1.0}  # poll interval clamped to at least 1s
    watch_calls = [c for c in api.calls if "/v1/notifications" in c.url]
    assert watch_calls[0].headers["X-Receipt"].startswith("hbr_press-")
    assert "since=" in watch_calls[1].url


def test_ctrl_c_while_watching_exits_0():
    api = FakeApi(statuses=[CREATED], notifications=[[], KeyboardInterrupt()])  # type: ignore[list-item]
    code, _, err, _ = _press(api, watch=True)
    assert code == ExitCode.CREATED
    assert "Stopped watching." in err


def test_ctrl_c_before_the_api_answered_exits_130_with_the_safe_retry_hint():
    api = FakeApi(statuses=[CREATED], faults=[KeyboardInterrupt()])  # type: ignore[list-item]
    code, _, err, _ = _press(api, submission_id="press-fixed-id-1")
    assert code == ExitCode.INTERRUPTED == 130
    assert "--submission-id press-fixed-id-1" in err


def test_json_output_is_the_final_status_document():
    code, out, *_ = _press(FakeApi(statuses=[CREATED]), as_json=True)
    assert code == 0
    assert '"ticket_number": "T20261126.0004"' in out


def test_the_command_line_needs_url_key_and_email(monkeypatch, capsys):
    for var in ("HELPDESK_API_URL", "HELPDESK_BUTTON_KEY", "HELPDESK_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    code = cli_main.main(["press", "help"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "--api-url or HELPDESK_API_URL" in err
    assert "--key or HELPDESK_BUTTON_KEY" in err
    assert "--email or HELPDESK_EMAIL" in err


def test_the_command_line_reads_url_and_key_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("HELPDESK_API_URL", "http://127.0.0.1:9/prod")
    monkeypatch.setenv("HELPDESK_BUTTON_KEY", "hbk_x")
    code = cli_main.main(["press", "help", "--email", "a@b.c", "--name", "A", "--dry-run"])
    assert code == 0
    assert '"email": "a@b.c"' in capsys.readouterr().out


def test_every_exit_code_is_distinct_and_documented():
    values = [code.value for code in ExitCode]
    assert len(values) == len(set(values))
    doc = (Path(__file__).parents[3] / "docs" / "agent.md").read_text()
    for code in ExitCode:
        assert re.search(rf"^\|\s*{code.value}\s*\|", doc, re.MULTILINE), f"exit code {code.value} not in docs/agent.md"


def test_the_agent_does_not_import_boto3():
    import subprocess
    import sys

    probe = "import sys, helpdesk_cli.main as m; m.build_parser(); print(any(k.startswith(('boto', 'pydantic')) for k in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_submission_briefly_unknown_right_after_acceptance_is_polled_again():
    not_found = response(404, {"error": "not_found", "message": "unknown submission"})
    api = FakeApi(statuses=[CREATED])
    # the POST goes through; the first status poll says 404 once
    api.faults = []
    original = api.request

    def flaky(method, url, **kwargs):
        if method == "GET" and not getattr(flaky, "done", False):
            flaky.done = True
            api.calls.append(None)
            return not_found
        return original(method, url, **kwargs)

    api.request = flaky  # type: ignore[method-assign]
    code, out, *_ = _press(api)
    assert code == ExitCode.CREATED
    assert out == "Ticket T20261126.0004 created.\n"


def test_on_a_terminal_a_missing_email_is_asked_for(monkeypatch, capsys):
    # Given the one line `make run` prints (URL, key, message; no email) typed at a terminal
    monkeypatch.delenv("HELPDESK_EMAIL", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "ann@contoso.com")
    seen = {}

    def fake_press(opts, client, **kwargs):
        seen["email"] = opts.email
        return 0

    monkeypatch.setattr("helpdesk_cli.press.press", fake_press)

    code = cli_main.main(["press", "--api-url", "http://127.0.0.1:9/prod", "--key", "hbk_x", "My printer is on fire!"])

    assert code == 0
    assert asked == ["Your email address: "]
    assert seen["email"] == "ann@contoso.com"


def test_without_a_terminal_a_missing_email_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.delenv("HELPDESK_EMAIL", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code = cli_main.main(["press", "--api-url", "http://127.0.0.1:9/prod", "--key", "hbk_x", "help"])
    assert code == ExitCode.USAGE
    assert "--email or HELPDESK_EMAIL" in capsys.readouterr().err


def test_an_outage_while_watching_is_reported_once_and_the_recovery_too():
    down = [requests.ConnectionError("Connection refused")] * 3
    api = FakeApi(statuses=[CREATED], notifications=[[], [], [{"id": "n1", "text": "Ticket T1 is now Complete"}]])
    clock = FakeClock()
    client = AgentClient(
        "http://api.test/prod", "hbk_good", session=api, policy=RetryPolicy(max_attempts=1), timing=clock.timing()
    )  # type: ignore[arg-type]
    opts = PressOptions(message="m", name="n", email="e@x.y", watch=True, poll_interval=1, max_watch_seconds=8)
    original = api.request
    polls = {"n": 0}

    def flaky(method, url, **kwargs):
        if "/v1/notifications" in url:
            polls["n"] += 1
            if 2 <= polls["n"] <= 4:
                api.calls.append(None)
                raise down[0]
        return original(method, url, **kwargs)

    api.request = flaky  # type: ignore[method-assign]
    out, err = io.StringIO(), io.StringIO()

    assert press(opts, client, out=out, err=err, facts=FACTS) == 0

    assert err.getvalue().count("still watching") == 1
    assert err.getvalue().count("Connected again.") == 1
    assert "trying again" not in err.getvalue()
    assert out.getvalue().splitlines()[-1] == "Ticket T1 is now Complete"


def test_watch_does_not_repeat_the_outcome_it_already_printed():
    sid = "press-watch-once-1"
    api = FakeApi(
        statuses=[CREATED],
        notifications=[
            [
                {"id": "c1", "submission_id": sid, "event": "created", "text": "Ticket T20261126.0004 was created"},
                {"id": "c2", "submission_id": "another-press", "event": "created", "text": "Ticket T9 was created"},
            ],
            [{"id": "s1", "submission_id": sid, "event": "status_changed", "text": "Ticket is now In Progress"}],
        ],
    )
    code, out, _err, _clock = _press(api, submission_id=sid, watch=True, poll_interval=1, max_watch_seconds=5)
    assert code == ExitCode.CREATED
    assert out.splitlines() == [
        "Ticket T20261126.0004 created.",
        "Ticket T9 was created",
        "Ticket is now In Progress",
    ]
