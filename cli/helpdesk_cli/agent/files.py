"""Attachments: read local files, check the API's limits, decide inline base64 versus presigned upload.

Limits (the API's): 6 MB per attachment, 20 MB per submission, 10 attachments. API Gateway refuses bodies
over 10 MB and a Lambda request payload is at most 6 MB, so only small files go inline (base64 grows them
by a third); bigger ones go through POST /v1/uploads and a form POST to the presigned URL.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from helpdesk_cli.agent.client import AttachmentError

MB = 1024 * 1024
MAX_ATTACHMENT_BYTES = 6 * MB
MAX_TOTAL_BYTES = 20 * MB
MAX_ATTACHMENTS = 10
INLINE_MAX_BYTES = 1 * MB  # a file up to this size goes inline ...
INLINE_BUDGET_BYTES = 3 * MB  # ... while all inline files together stay under this (about 4 MB of base64)


class Mode(StrEnum):
    INLINE = "inline"
    UPLOAD = "upload"


@dataclass(frozen=True)
class LocalFile:
    filename: str  # the base name only: a local path never leaves the machine
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def _human(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB / 10 else f"{size} bytes"


def guess_content_type(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


def load_attachments(paths: list[str]) -> list[LocalFile]:
    """Read the files, refusing (with a message naming the file) anything the API would refuse."""
    if len(paths) > MAX_ATTACHMENTS:
        raise AttachmentError(f"Too many attachments: {len(paths)} (at most {MAX_ATTACHMENTS})")
    files: list[LocalFile] = []
    total = 0
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise AttachmentError(f"Cannot attach {raw}: not a regular file")
        except FileNotFoundError:
            raise AttachmentError(f"Cannot attach {raw}: no such file") from None
        except OSError as exc:
            raise AttachmentError(f"Cannot attach {raw}: {exc.strerror or exc}") from None
        if size > MAX_ATTACHMENT_BYTES:
            raise AttachmentError(
                f"Cannot attach {raw}: it is {_human(size)}, over the 6 MB limit per attachment "
                "(shrink it, or share it another way and mention where in the message)"
            )
        total += size
        if total > MAX_TOTAL_BYTES:
            raise AttachmentError(f"Attachments are over the 20 MB limit per request (at {raw}: {_human(total)})")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AttachmentError(f"Cannot attach {raw}: {exc.strerror or exc}") from None
        if len(data) > MAX_ATTACHMENT_BYTES:  # it grew while we looked
            raise AttachmentError(f"Cannot attach {raw}: it is over the 6 MB limit per attachment")
        files.append(LocalFile(filename=path.name, content_type=guess_content_type(path.name), data=data))
    return files


def plan_attachments(
    files: list[LocalFile], *, inline_max: int = INLINE_MAX_BYTES, inline_budget: int = INLINE_BUDGET_BYTES
) -> list[tuple[LocalFile, Mode]]:
    """Inline the small files (in order) while the inline budget lasts; upload the rest."""
    plan: list[tuple[LocalFile, Mode]] = []
    inline_used = 0
    for file in files:
        if file.size <= inline_max and inline_used + file.size <= inline_budget:
            inline_used += file.size
            plan.append((file, Mode.INLINE))
        else:
            plan.append((file, Mode.UPLOAD))
    return plan
