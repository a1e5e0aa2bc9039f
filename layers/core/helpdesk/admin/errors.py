"""Errors of the admin use cases: the service's one vocabulary (helpdesk.errors), plus the admin's own refusals.
The admin function turns each into a clear 4xx (or 502) JSON answer (helpdesk.http_edge)."""

from __future__ import annotations

from helpdesk.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotConfigured,
    NotFound,
    Unauthorized,
    Upstream,
    error_body,
)
from helpdesk.errors import ServiceError as AdminError


class RulesFailOnReplay(Conflict):
    """The rules compile but fail at run time on real presses: saving them needs an explicit confirmation."""

    code = "rules_fail_on_replay"


__all__ = [
    "AdminError",
    "Conflict",
    "FieldError",
    "Forbidden",
    "Invalid",
    "NotConfigured",
    "NotFound",
    "RulesFailOnReplay",
    "Unauthorized",
    "Upstream",
    "error_body",
]
