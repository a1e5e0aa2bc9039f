"""`--diagnostics` and `--screenshot`: what the original desktop agent attaches besides the user's files."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from helpdesk_cli.agent import diagnostics
from helpdesk_cli.agent.diagnostics import MAX_REPORT_BYTES, ScreenshotUnavailable, diagnostic_report, take_screenshot
from helpdesk_cli.agent.exitcodes import ExitCode
from tests.unit.agent.fakes import FakeApi
from tests.unit.agent.test_press import CREATED, _press


def _attachments(api: FakeApi) -> dict[str, bytes]:
    (body,) = [c.json for c in api.calls if c.method == "POST" and c.url.endswith("/v1/tickets")]
    return {a["filename"]: base64.b64decode(a["data_base64"]) for a in body["attachments"] if "data_base64" in a}


def test_the_diagnostic_report_is_bounded_plain_text_with_every_section() -> None:
    report = diagnostic_report()
    text = report.data.decode()
    assert report.content_type == "text/plain" and report.filename == "diagnostics.txt"
    assert 0 < report.size <= MAX_REPORT_BYTES
    for section in ("System", "Uptime", "Disks", "Memory", "Network interfaces", "Top 15 processes by memory"):
        assert f"== {section} ==" in text, section


def test_a_part_that_cannot_be_read_is_named_and_the_rest_still_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[str]:
        raise PermissionError("denied")

    monkeypatch.setattr(diagnostics, "_processes", broken)
    text = diagnostic_report().data.decode()
    assert "(not available here: PermissionError)" in text and "== Memory ==" in text


def test_a_press_with_diagnostics_attaches_the_report() -> None:
    api = FakeApi(statuses=[CREATED])
    code, _out, _err, _ = _press(api, diagnostics=True)
    assert code == ExitCode.CREATED
    assert b"== Disks ==" in _attachments(api)["diagnostics.txt"]


def test_a_screenshot_comes_from_the_platform_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "scrot"
    tool.write_text('#!/bin/sh\nfor last; do :; done\nprintf "\\211PNG-fake" > "$last"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    shot = take_screenshot("linux")
    assert shot.filename == "screenshot.png" and shot.data == b"\x89PNG-fake"
    api = FakeApi(statuses=[CREATED])
    code, _out, err, _ = _press(api, screenshot=True)
    assert code == ExitCode.CREATED and _attachments(api)["screenshot.png"] == b"\x89PNG-fake"
    assert "no screenshot" not in err


def test_without_a_capture_tool_the_press_says_so_and_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    with pytest.raises(ScreenshotUnavailable, match="no screen capture tool found"):
        take_screenshot("linux")
    with pytest.raises(ScreenshotUnavailable, match="no screen capture for win32"):
        take_screenshot("win32")
    api = FakeApi(statuses=[CREATED])
    code, _out, err, _ = _press(api, screenshot=True)
    assert code == ExitCode.CREATED and "screenshot.png" not in _attachments(api)
    assert "no screenshot" in err and "without it" in err
    assert os.environ["PATH"] == str(tmp_path)
