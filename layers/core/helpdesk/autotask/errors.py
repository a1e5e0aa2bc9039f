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

# The base class and the two errors a concurrency limiter raises are the port's (helpdesk.ports): the HTTP
# client and the DynamoDB limiter both raise them. Re-exported here so the client's hierarchy reads in one place.
from helpdesk.ports import MSG_ACCESS as MSG_ACCESS
from helpdesk.ports import MSG_THROTTLED as MSG_THROTTLED
from helpdesk.ports import AutotaskError as AutotaskError
from helpdesk.ports import ThreadLimitExceeded as ThreadLimitExceeded
from helpdesk.ports import Throttled as Throttled

MSG_AUTH = "There was an error authenticating with the current credentials."
MSG_PERMISSION = "There was an error involving permissions in your PSA."
MSG_TIMEOUT = "API endpoint timed out."
MSG_RESPONSE = "There was an error reading the response from the API endpoint."
MSG_VALIDATION = "There was an error validating input."
MSG_NOT_FOUND = "The record was not found in the PSA."


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
