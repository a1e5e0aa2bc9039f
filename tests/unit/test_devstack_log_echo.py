"""`python -m devstack --echo-logs` copies function output to the operator's terminal: tenant text in it must not
drive that terminal, while the log file keeps every line as the function wrote it."""

from __future__ import annotations

from pathlib import Path

from devstack.lambda_service import LogSink

HOSTILE = "press from \x1b]0;pwned\x07\x1b[2J\x1b[31mALICE\x1b[0m\rcleared \u202eevil\x07\x08 done"


def test_echoed_function_output_has_no_escape_sequences_or_control_characters(tmp_path: Path) -> None:
    echoed: list[str] = []
    sink = LogSink(tmp_path / "intake.log", "[intake]", echoed.append)
    sink.write(HOSTILE + "\n")
    assert echoed == ["[intake] press from ALICEcleared evil done"]
    assert (tmp_path / "intake.log").read_bytes() == (HOSTILE + "\n").encode()  # the file is evidence: unchanged


def test_without_echo_the_log_file_still_gets_every_line(tmp_path: Path) -> None:
    sink = LogSink(tmp_path / "rules.log", "[rules]", None)
    sink.write("quiet\n")
    assert (tmp_path / "rules.log").read_text() == "quiet\n"
