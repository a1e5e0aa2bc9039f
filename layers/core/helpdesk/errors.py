"""The service's one error vocabulary: what a use case raises when it refuses a request.

Each error carries the HTTP status and the `error` code of the JSON body the edges answer with
(helpdesk.http_edge turns it into `{"error", "message", "fields"?, ...details}`), so intake, admin and the ops
CLI say the same thing the same way. Pure Python: use cases raise these without knowing about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field (dotted path, e.g. `contact.email`), said for a person."""

    field: str
    message: str
    line: int | None = None
    column: int | None = None


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        fields: list[FieldError] | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields: list[FieldError] = list(fields or ([FieldError(field, message)] if field else []))
        self.details: dict[str, object] = details or {}  # further top-level members of the JSON answer

    @property
    def field(self) -> str | None:
        """The first offending field, if any."""
        return self.fields[0].field if self.fields else None


class Malformed(ServiceError):
    """The body cannot be a request at all (e.g. nested too deeply to parse)."""

    status = 400
    code = "malformed"


class Unauthorized(ServiceError):
    """No, an unknown or a revoked credential (the answer never says which)."""

    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class TenantDisabled(Forbidden):
    """A known button key of a disabled tenant: refused, nothing stored (403, not 401: retrying will not help)."""

    code = "tenant_disabled"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class NotConfigured(Conflict):
    """The action needs settings (e.g. Autotask's) the tenant has not entered yet."""

    code = "not_configured"


class TooLarge(ServiceError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


class Invalid(ServiceError):
    """The request is well-formed but a value is wrong; nothing was changed."""

    status = 422
    code = "validation_error"


class Upstream(ServiceError):
    """Autotask or the rules function failed; the message is safe to show (no secrets)."""

    status = 502
    code = "upstream_error"


def error_body(exc: ServiceError) -> dict[str, object]:
    """`{"error", "message", "fields", ...details}`: the one error body of every HTTP answer (ErrorBody)."""
    body: dict[str, object] = {
        "error": exc.code,
        "message": exc.message,
        "fields": [{k: v for k, v in vars(f).items() if v is not None} for f in exc.fields],
    }
    for key, value in exc.details.items():
        body.setdefault(key, value)
    return body
