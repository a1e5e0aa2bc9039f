"""Every `helpdesk` command prints text written by others: none of it may drive the operator's terminal."""

from __future__ import annotations

import argparse
import io

import pytest

from helpdesk_cli import main as cli_main
from helpdesk_cli.terminal import PrintableStream, strip_controls

HOSTILE = "Eve\x1b]0;owned\x07\x1b[2J\x1b[31m red\x9b1m\r\x08 \u202eevil\u2066 done\x00"


def test_escape_sequences_controls_and_bidi_overrides_are_stripped_newlines_and_tabs_kept() -> None:
    assert strip_controls(HOSTILE) == "Eve red1m evil done"
    assert strip_controls("a\tb\nc") == "a\tb\nc"


def test_a_command_printing_someone_elses_text_reaches_the_terminal_filtered(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def hostile(_args: argparse.Namespace) -> int:
        print(f"tenant: {HOSTILE}")
        print(f"error: {HOSTILE}", file=__import__("sys").stderr)
        return 0

    def parser() -> argparse.ArgumentParser:
        p = argparse.ArgumentParser()
        p.set_defaults(func=hostile)
        return p

    monkeypatch.setattr(cli_main, "build_parser", parser)
    assert cli_main.main([]) == 0
    out, err = capsys.readouterr()
    assert out == "tenant: Eve red1m evil done\n" and err == "error: Eve red1m evil done\n"


def test_the_clis_own_redraws_pass_through_unfiltered() -> None:
    raw = io.StringIO()
    stream = PrintableStream(raw)
    stream.write("x\ry")
    stream.unfiltered.write("\r[###]")
    assert raw.getvalue() == "xy\r[###]"
