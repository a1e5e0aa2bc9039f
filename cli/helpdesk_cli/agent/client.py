"""HTTP client of the button agent API, with retries that never duplicate a ticket.

Every request body is serialised once and resent byte for byte, so a retried POST /v1/tickets carries the
same submission_id and the same body: the API answers with the same receipt and never makes a second ticket.
Retried: connection errors, timeouts, a connection dropped before the answer arrived, 408/425/429/5xx
(honouring Retry-After). Not retried: other 4xx, which are final answers.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from helpdesk_cli.agent.exitcodes import ExitCode
from helpdesk_cli.agent.retry import RETRYABLE_STATUSES, RetryPolicy, Timing, parse_retry_after

USER_AGENT = "helpdesk-press/1.0 (reference button agent)"
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds per attempt
MIN_READ_TIMEOUT = 5.0


class AgentError(Exception):
    """An error with a message meant for the person at the keyboard and the exit code it maps to."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnauthorizedError(AgentError):
    exit_code = ExitCode.UNAUTHORIZED


class UnreachableError(AgentError):
    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, *, maybe_delivered: bool = True) -> None:
        super().__init__(message)
        # False only when no attempt can have reached the server (e.g. every connection was refused).
        self.maybe_delivered = maybe_delivered


class RejectedError(AgentError):
    exit_code = ExitCode.REJECTED

    def __init__(self, message: str, status: int, fields: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.fields = fields or []


class AttachmentError(AgentError):
    exit_code = ExitCode.ATTACHMENT


class NotFoundError(RejectedError):
    pass


@dataclass(frozen=True)
class RetryNotice:
    """Told to the progress display before each wait: what went wrong and how long until the next try."""

    attempt: int
    reason: str
    delay: float


@dataclass(frozen=True)
class Accepted:
    id: str
    status: str
    receipt: str


def _error_text(response: requests.Response) -> tuple[str, list[dict[str, Any]]]:
    try:
        doc = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:300], []
    if not isinstance(doc, dict):
        return str(doc)[:300], []
    message = str(doc.get("message") or doc.get("error") or "").strip()
    fields = doc.get("fields")
    return message, fields if isinstance(fields, list) else []


class AgentClient:
    """The agent side of /v1/tickets, /v1/uploads, /v1/notifications and /v1/health."""

    def __init__(
        self,
        api_url: str,
        key: str,
        *,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        timing: Timing | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._key = key
        self._session = session or requests.Session()
        self.policy = policy or RetryPolicy()
        self.timing = timing or Timing()
        self.timeout = timeout
        self.on_retry = on_retry

    # -- the endpoints -------------------------------------------------------------------------------------------
    def submit(self, body: Mapping[str, Any]) -> Accepted:
        """POST /v1/tickets; retried with the identical body until the API answers or the budget runs out."""
        doc = self._json("POST", "/v1/tickets", body=body, expect=(200, 201, 202))
        try:
            return Accepted(id=str(doc["id"]), status=str(doc.get("status") or "queued"), receipt=str(doc["receipt"]))
        except KeyError as exc:
            raise UnreachableError(
                f"The API at {self.api_url} answered without {exc.args[0]!r}: not a helpdesk API?"
            ) from exc

    def status(self, submission_id: str, receipt: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/tickets/{submission_id}", headers={"X-Receipt": receipt}, expect=(200,))

    def create_upload(self, submission_id: str, filename: str, content_type: str, size: int) -> dict[str, Any]:
        body = {"submission_id": submission_id, "filename": filename, "content_type": content_type, "size": size}
        return self._json("POST", "/v1/uploads", body=body, expect=(200, 201))

    def post_upload(self, url: str, fields: Mapping[str, str], filename: str, content_type: str, data: bytes) -> None:
        """POST the file to a presigned POST URL as multipart/form-data: the signed `fields` first, the file last.
        Our key is NOT sent there: the signed policy is the credential."""
        boundary = "helpdesk-" + secrets.token_hex(16)
        body = _multipart(boundary, fields, filename, content_type, data)
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        self._send("POST", url, data=body, headers=headers, authorize=False, expect=(200, 201, 204))

    def notifications(
        self, since: str | None, *, receipts: list[str], device_id: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        headers: dict[str, str] = {}
        if receipts:
            headers["X-Receipt"] = ",".join(receipts)
        if device_id:
            headers["X-Device-Id"] = device_id
        path = "/v1/notifications" + (f"?since={quote(since, safe='')}" if since else "")
        doc = self._json("GET", path, headers=headers, expect=(200,))
        events = doc.get("events")
        cursor = doc.get("cursor")
        return (
            [e for e in events if isinstance(e, dict)] if isinstance(events, list) else [],
            str(cursor) if cursor else since,
        )

    def health(self) -> dict[str, Any]:
        return self._json("GET", "/v1/health", expect=(200,), authorize=False)

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _json(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...],
        authorize: bool = True,
    ) -> dict[str, Any]:
        all_headers = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        response = self._send(
            method, self.api_url + path, data=data, headers=all_headers, authorize=authorize, expect=expect
        )
        try:
            doc = response.json()
        except ValueError as exc:
            raise UnreachableError(
                f"The API at {self.api_url} answered {method} {path} with something that is not JSON: "
                "check --api-url (it must be the stage URL, e.g. https://.../prod)"
            ) from exc
        if not isinstance(doc, dict):
            raise UnreachableError(f"The API at {self.api_url} answered {method} {path} with unexpected JSON")
        return doc

    def _send(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None,
        headers: dict[str, str],
        authorize: bool,
        expect: tuple[int, ...],
    ) -> requests.Response:
        headers = {"User-Agent": USER_AGENT, **headers}
        if authorize:
            headers["Authorization"] = f"Bearer {self._key}"
        started = self.timing.clock()
        attempt = 0
        maybe_delivered = False
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                response = self._session.request(
                    method, url, data=data, headers=headers, timeout=self._attempt_timeout(started)
                )
            except requests.RequestException as exc:
                # Connection refused/reset, DNS failure, timeout, or the connection dropped before the answer:
                # the request may or may not have reached the server, so it is resent unchanged.
                reason = _network_reason(exc)
                maybe_delivered = maybe_delivered or not _surely_not_sent(exc)
            else:
                if response.status_code in expect:
                    return response
                if response.status_code not in RETRYABLE_STATUSES:
                    raise self._final_error(method, url, response)
                maybe_delivered = True
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
                response.close()
            elapsed = self.timing.clock() - started
            delay = self.policy.next_delay(attempt, elapsed, retry_after=retry_after, rand=self.timing.rand())
            if delay is None:
                raise UnreachableError(
                    f"No answer from the helpdesk API at {self.api_url}: {reason} "
                    f"(tried {attempt} time{'s' if attempt > 1 else ''} over {elapsed:.1f}s)"
                    + (f"; the server asked to wait {retry_after:.0f}s" if retry_after else ""),
                    maybe_delivered=maybe_delivered,
                )
            if self.on_retry:
                self.on_retry(RetryNotice(attempt=attempt, reason=reason, delay=delay))
            self.timing.sleep(delay)

    def _attempt_timeout(self, started: float) -> tuple[float, float]:
        """(connect, read) for the next attempt: a late attempt gets only what is left of the retry budget
        (at least MIN_READ_TIMEOUT), so one press ends within about max_elapsed + connect + MIN_READ_TIMEOUT."""
        connect, read = self.timeout
        remaining = self.policy.max_elapsed - (self.timing.clock() - started)
        return connect, max(MIN_READ_TIMEOUT, min(read, remaining))

    def _final_error(self, method: str, url: str, response: requests.Response) -> AgentError:
        status = response.status_code
        message, fields = _error_text(response)
        if status == 401:
            return UnauthorizedError(
                "The button key was refused (401 unauthorized): check --key / HELPDESK_BUTTON_KEY"
                + (f" ({message})" if message else "")
            )
        if status == 403 and '"tenant_disabled"' in response.text:
            return RejectedError(f"The service no longer accepts requests from this button (403): {message}", status)
        if status == 403:
            # The agent API answers 401 for key problems; a 403 ("Missing Authentication Token" or "Forbidden")
            # comes from API Gateway itself: an unknown route or stage, i.e. a wrong base URL.
            return UnreachableError(
                f"{url} is not a route of the helpdesk API (403 {message or 'Forbidden'}): check --api-url / "
                "HELPDESK_API_URL (it must be the stage URL, e.g. http://127.0.0.1:3000/prod)"
            )
        if status == 413:
            return AttachmentError(f"The API refused the request as too large (413): {message or 'payload too large'}")
        if status == 404:
            return NotFoundError(f"Not found (404): {message or url}", status)
        if status == 409:
            return RejectedError(
                "This submission id was already used for a different request (409 conflict); "
                "press again without --submission-id" + (f": {message}" if message else ""),
                status,
            )
        detail = "; ".join(f"{f.get('field')}: {f.get('message')}" for f in fields if isinstance(f, dict))
        return RejectedError(
            f"The API refused the request ({status}): {message or response.reason or 'no reason given'}"
            + (f" [{detail}]" if detail else ""),
            status,
            fields,
        )


def _multipart(boundary: str, fields: Mapping[str, str], filename: str, content_type: str, data: bytes) -> bytes:
    """A multipart/form-data body (RFC 7578): one part per field, in order, then the file as `file`."""

    def quoted(text: str) -> str:
        return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")

    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted(name)}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted(filename)}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
    )
    return b"".join(parts) + data + f"\r\n--{boundary}--\r\n".encode()


def _network_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer in time (read timeout)"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        for needle, reason in (
            ("Connection refused", "connection refused"),
            ("Name or service not known", "unknown host name"),
            ("nodename nor servname", "unknown host name"),
            ("Temporary failure in name resolution", "host name lookup failed"),
            ("RemoteDisconnected", "connection closed before the answer arrived"),
            ("Connection aborted", "connection dropped before the answer arrived"),
            ("Connection reset", "connection reset"),
        ):
            if needle in text:
                return reason
        return "network error"
    return type(exc).__name__


def _surely_not_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server: no connection was ever made."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = str(exc)
    return isinstance(exc, requests.ConnectionError) and any(
        needle in text for needle in ("Connection refused", "Name or service not known", "name resolution", "nodename")
    )
