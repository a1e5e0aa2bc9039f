"""Status + text -> typed error (research-autotask-api.md section 6), as the dispatcher and admin UI see them."""

from __future__ import annotations

import pytest

from helpdesk.autotask import errors as e
from helpdesk.autotask.client import classify, parse_retry_after


@pytest.mark.parametrize(
    ("status", "texts", "cls", "retryable"),
    [
        (401, [], e.AuthenticationError, False),
        (500, ["IntegrationCode is invalid."], e.InvalidIntegrationCode, False),
        (500, ["Zone information could not be determined"], e.ZoneNotFound, False),
        (403, [], e.PermissionError_, False),
        (500, ["The logged in Resource does not have the adequate permissions"], e.PermissionError_, False),
        (500, ["Value does not reference an existing entity for taskType . "], e.ValidationError_, False),
        (500, ["maxCountOfRecordsToReturn must be between 1 and 500"], e.ValidationError_, False),
        (400, ["bad"], e.ValidationError_, False),
        (404, [], e.ItemNotFound, False),
        (429, [], e.Throttled, True),
        (
            429,
            ["Thread Threshold Exceeded — The Autotask API thread threshold of 3 threads has been exceeded."],
            e.ThreadLimitExceeded,
            True,
        ),
        (500, ["Thread Threshold Exceeded (Itgenatr005)"], e.ThreadLimitExceeded, True),
        (500, ["more than 10,000,000 bytes were attached within five minutes"], e.AttachmentQuotaExceeded, True),
        (500, ["An unexpected error has occurred."], e.TransientError, True),
        (500, [], e.TransientError, True),
        (502, [], e.TransientError, True),
        (503, ["The service is temporarily unavailable."], e.TransientError, True),
    ],
)
def test_classification(status: int, texts: list[str], cls: type[e.AutotaskError], retryable: bool) -> None:
    err = classify(status, texts, None)
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.status == status
    assert err.errors == tuple(texts)
    for t in texts:
        assert t in str(err)  # Autotask's own text stays available


def test_every_error_has_retryable_and_retry_after_attributes() -> None:
    for cls in (
        e.AutotaskError,
        e.AuthenticationError,
        e.PermissionError_,
        e.ValidationError_,
        e.ItemNotFound,
        e.Throttled,
        e.ThreadLimitExceeded,
        e.TransientError,
        e.EndpointTimeout,
        e.ResponseError,
        e.AttachmentQuotaExceeded,
        e.AttachmentTooLarge,
        e.InvalidCredentials,
        e.UntrustedEndpoint,
    ):
        err = cls("x")
        assert isinstance(err.retryable, bool)
        assert getattr(err, "retry_after", "missing") is None


def test_throttle_carries_retry_after_for_the_dispatcher() -> None:
    err = classify(429, [], 12.5)
    assert getattr(err, "retry_after") == 12.5


@pytest.mark.parametrize(
    ("cls", "wording"),
    [
        (e.AuthenticationError, "There was an error authenticating with the current credentials."),
        (e.PermissionError_, "There was an error involving permissions in your PSA."),
        (e.EndpointTimeout, "API endpoint timed out."),
        (e.TransientError, "There was an error accessing the API endpoint."),
        (e.ResponseError, "There was an error reading the response from the API endpoint."),
        (e.ValidationError_, "There was an error validating input."),
    ],
)
def test_messages_use_the_original_products_wording(cls: type[e.AutotaskError], wording: str) -> None:
    err = cls(errors=["Autotask said so"])
    assert err.user_message == wording
    assert str(err).startswith(wording)
    assert err.autotask_message == "Autotask said so"


def test_retry_after_parses_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
