"""Exit codes of `helpdesk press` (documented in docs/agent.md; scripts may rely on them)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    CREATED = 0  # the ticket exists (its number was printed); also: --watch ended with Ctrl-C
    INTERNAL = 1  # an unexpected error in the agent itself (a bug: please report it)
    USAGE = 2  # bad command line: missing --email/--key/--api-url, bad --submission-id, ...
    BLOCKED = 3  # the MSP's Dispatcher Rules blocked the ticket; their message was printed
    FAILED = 4  # the service could not create the ticket; its message was printed
    UNAUTHORIZED = 5  # the button key was refused (401)
    UNREACHABLE = 6  # no answer from the API within the retry budget (network down, 5xx, 429, wrong URL)
    ATTACHMENT = 7  # an attachment is missing, unreadable, over 6 MB, or the set is over 20 MB / 10 files
    REJECTED = 8  # the API refused the request (422 validation, 409 id reused with another body, other 4xx)
    PENDING = 9  # accepted, but still queued/creating when --wait-timeout ran out (it may still be created)
    INTERRUPTED = 130  # Ctrl-C before the outcome was known (the submission may still be processed)
