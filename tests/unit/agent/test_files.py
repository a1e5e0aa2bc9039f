"""Attachments: limits checked before anything is sent; small files inline, big ones uploaded."""

from __future__ import annotations

import pytest

from helpdesk_cli.agent.client import AttachmentError
from helpdesk_cli.agent.exitcodes import ExitCode
from helpdesk_cli.agent.files import (
    MB,
    LocalFile,
    Mode,
    guess_content_type,
    load_attachments,
    plan_attachments,
)


def _file(size: int, name: str = "f.bin") -> LocalFile:
    return LocalFile(filename=name, content_type="application/octet-stream", data=b"x" * size)


def test_small_files_go_inline_and_big_ones_are_uploaded():
    plan = plan_attachments([_file(10_000, "shot.png"), _file(2 * MB, "big.log")])
    assert [(f.filename, m) for f, m in plan] == [("shot.png", Mode.INLINE), ("big.log", Mode.UPLOAD)]


def test_the_inline_budget_sends_the_overflow_through_uploads():
    files = [_file(MB, f"s{i}.png") for i in range(5)]
    plan = plan_attachments(files, inline_max=MB, inline_budget=3 * MB)
    assert [m for _, m in plan] == [Mode.INLINE] * 3 + [Mode.UPLOAD] * 2


def test_exactly_at_the_inline_limit_is_inline():
    assert plan_attachments([_file(MB)])[0][1] is Mode.INLINE
    assert plan_attachments([_file(MB + 1)])[0][1] is Mode.UPLOAD


def test_loads_files_with_their_base_name_and_type(tmp_path):
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"\x89PNG\r\n")
    (loaded,) = load_attachments([str(shot)])
    assert (loaded.filename, loaded.content_type, loaded.data) == ("shot.png", "image/png", b"\x89PNG\r\n")


def test_a_file_over_6_mb_is_refused_with_a_clear_message(tmp_path):
    big = tmp_path / "video.mp4"
    with big.open("wb") as fh:
        fh.truncate(6 * MB + 1)
    with pytest.raises(AttachmentError) as caught:
        load_attachments([str(big)])
    assert str(big) in caught.value.message
    assert "over the 6 MB limit" in caught.value.message
    assert caught.value.exit_code == ExitCode.ATTACHMENT


def test_exactly_6_mb_is_accepted(tmp_path):
    edge = tmp_path / "edge.bin"
    with edge.open("wb") as fh:
        fh.truncate(6 * MB)
    assert load_attachments([str(edge)])[0].size == 6 * MB


def test_more_than_20_mb_in_total_is_refused(tmp_path):
    paths = []
    for i in range(4):
        path = tmp_path / f"part{i}.bin"
        with path.open("wb") as fh:
            fh.truncate(6 * MB)
        paths.append(str(path))
    with pytest.raises(AttachmentError, match="20 MB limit"):
        load_attachments(paths)


def test_more_than_10_files_are_refused(tmp_path):
    with pytest.raises(AttachmentError, match="Too many attachments: 11"):
        load_attachments([str(tmp_path / f"{i}.txt") for i in range(11)])


def test_missing_files_and_directories_are_named(tmp_path):
    with pytest.raises(AttachmentError, match="no such file"):
        load_attachments([str(tmp_path / "nope.png")])
    with pytest.raises(AttachmentError, match="not a regular file"):
        load_attachments([str(tmp_path)])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.png", "image/png"),
        ("a.JPG", "image/jpeg"),
        ("report.txt", "text/plain"),
        ("blob", "application/octet-stream"),
    ],
)
def test_guess_content_type(name, expected):
    assert guess_content_type(name) == expected
