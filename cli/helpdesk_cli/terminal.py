"""Text written by others (tenants, end users, Autotask, the API) must not drive the operator's terminal.

`strip_controls` removes escape sequences (CSI, OSC, single-character), C0 controls but newline and tab, DEL,
C1 controls and the bidirectional overrides that can make text read differently from what it is.
`printable_streams()` wraps stdout and stderr for the length of a command, so every line any `helpdesk`
command prints is filtered, whatever it prints; the CLI's own redraws (the progress bar's carriage return)
go to `unfiltered(stream)`.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import Any, TextIO

ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    return CONTROLS.sub("", ESCAPES.sub("", text))


class PrintableStream:
    """A text stream that writes only printable text to the stream it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self.unfiltered = stream

    def write(self, text: str) -> int:
        self.unfiltered.write(strip_controls(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding, fileno ...
        return getattr(self.unfiltered, name)


def unfiltered(stream: Any) -> Any:
    """The stream under a PrintableStream (for the CLI's own control characters), else the stream itself."""
    return getattr(stream, "unfiltered", stream)


@contextlib.contextmanager
def printable_streams() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = PrintableStream(saved[0]), PrintableStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
