"""Errors of the admin use cases; the admin function turns each into a clear 4xx (or 502) JSON answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    line: int | None = None
    column: int | None = None


class AdminError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, fields: list[FieldError] | None = None, details: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields: list[FieldError] = fields or []
        self.details: dict[str, object] = details or {}  # further top-level members of the JSON answer


class Unauthorized(AdminError):
    status = 401
    code = "unauthorized"


class Forbidden(AdminError):
    status = 403
    code = "forbidden"


class NotFound(AdminError):
    status = 404
    code = "not_found"


class Conflict(AdminError):
    status = 409
    code = "conflict"


class RulesFailOnReplay(Conflict):
    """The rules compile but fail at run time on real presses: saving them needs an explicit confirmation."""

    code = "rules_fail_on_replay"


class Invalid(AdminError):
    """The request is well-formed JSON but a value is wrong; nothing was changed."""

    status = 422
    code = "validation_error"


class NotConfigured(AdminError):
    """The action needs Autotask settings the tenant has not entered yet."""

    status = 409
    code = "not_configured"


class Upstream(AdminError):
    """Autotask or the rules function failed; the message is safe to show (no secrets)."""

    status = 502
    code = "upstream_error"


def error_body(exc: AdminError) -> dict[str, object]:
    body: dict[str, object] = {"error": exc.code, "message": exc.message}
    if exc.fields:
        body["fields"] = [{k: v for k, v in vars(f).items() if v is not None} for f in exc.fields]
    for key, value in exc.details.items():
        body.setdefault(key, value)
    return body
