"""Typed Autotask errors, each safe to show to an MSP admin and each saying whether a retry can help.

Autotask reports many failures as HTTP 500 with `{"errors": ["..."]}` rather than 4xx, so classification
uses the status *and* the text (research-autotask-api.md section 6). Every class carries:

- `retryable`: whether repeating the same request later can succeed (throttles, 5xx, timeouts);
- `retry_after`: seconds the server asked us to wait (throttles only; `None` otherwise);
- `user_message`: the original product's wording for the admin's Integration Test;
- `errors`: Autotask's own messages, redacted of secrets, for support;
- `maybe_committed`: only for writes: the request reached Autotask and may have taken effect although no
  success was seen (timeout, dropped connection, 5xx). Creates are never retried blindly: look the ticket up
  by `externalID` first.
"""

from __future__ import annotations

from collections.abc import Sequence

MSG_AUTH = "There was an error authenticating with the current credentials."
MSG_PERMISSION = "There was an error involving permissions in your PSA."
MSG_TIMEOUT = "API endpoint timed out."
MSG_ACCESS = "There was an error accessing the API endpoint."
MSG_RESPONSE = "There was an error reading the response from the API endpoint."
MSG_VALIDATION = "There was an error validating input."
MSG_THROTTLED = "The PSA is limiting API requests; the request will be retried later."
MSG_NOT_FOUND = "The record was not found in the PSA."


class AutotaskError(Exception):
    """Base class. `str(exc)` is the admin-facing message followed by Autotask's own text."""

    retryable: bool = False
    user_message: str = MSG_ACCESS

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        errors: Sequence[str] = (),
        retry_after: float | None = None,
        maybe_committed: bool = False,
    ) -> None:
        self.detail = detail
        self.status = status
        self.errors: tuple[str, ...] = tuple(errors)
        self.retry_after = retry_after
        self.maybe_committed = maybe_committed
        super().__init__(self._render())

    def _render(self) -> str:
        extra = [self.detail] if self.detail else []
        extra += [e for e in self.errors if e not in extra]
        suffix = f" (HTTP {self.status})" if self.status else ""
        return self.user_message + suffix + (": " + " | ".join(extra) if extra else "")

    @property
    def autotask_message(self) -> str:
        """Autotask's own text (or our detail when Autotask gave none)."""
        return " | ".join(self.errors) if self.errors else (self.detail or "")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._render()!r})"


class InvalidCredentials(AutotaskError, ValueError):
    """The host, API key or integration code as entered cannot be right (checked before any request)."""

    user_message = MSG_AUTH


class AuthenticationError(AutotaskError):
    """401, or Autotask's 500 `IntegrationCode is invalid.` / `Zone information could not be determined`."""

    user_message = MSG_AUTH


class InvalidIntegrationCode(AuthenticationError):
    pass


class ZoneNotFound(AuthenticationError):
    """Zone discovery does not know the API user name."""


class UntrustedEndpoint(AutotaskError):
    """A URL (zone answer, nextPageUrl, redirect) points somewhere credentials must not be sent."""

    user_message = MSG_ACCESS


class PermissionError_(AutotaskError):
    """403, or a 500 whose text says the API user lacks permissions."""

    user_message = MSG_PERMISSION


class ValidationError_(AutotaskError):
    """The request was understood and refused (bad field, missing required value, picklist, size)."""

    user_message = MSG_VALIDATION


class AttachmentTooLarge(ValidationError_):
    pass


class ItemNotFound(AutotaskError):
    user_message = MSG_NOT_FOUND


class Throttled(AutotaskError):
    """429 or the hourly request threshold: wait `retry_after` (if given) and try again."""

    retryable = True
    user_message = MSG_THROTTLED


class ThreadLimitExceeded(Throttled):
    """`Thread Threshold Exceeded` (3 concurrent requests per integration code and entity)."""


class AttachmentQuotaExceeded(Throttled):
    """10,000,000 attachment bytes per 5 minutes per database would be exceeded."""


class TransientError(AutotaskError):
    """5xx without a known permanent meaning, timeouts and connection failures."""

    retryable = True
    user_message = MSG_ACCESS


class EndpointTimeout(TransientError):
    user_message = MSG_TIMEOUT


class ResponseError(TransientError):
    """The answer could not be read (not JSON, wrong shape)."""

    user_message = MSG_RESPONSE
