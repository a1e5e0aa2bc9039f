"""Autotask PSA REST client (one `requests.Session` per tenant; every request has a timeout).

Facts and quirks it relies on are in research-autotask-api.md; section numbers are cited inline.

Behaviour in short:
- Zone: `GET {AUTOTASK_ZONE_URL}?user=<API user>` (no credentials, section 1), cached per API user with a TTL; the
  returned `url` must match `AUTOTASK_SCHEME` + `AUTOTASK_HOST_PATTERN` before credentials are sent to it. A 401
  re-resolves the zone once and repeats the request if the zone moved.
- Reads (GET, `POST .../query`) are retried on retryable errors with exponential backoff and full jitter
  (honouring `Retry-After`). Writes (create, PATCH, DELETE) are sent exactly once: a timeout or 5xx on a create
  raises with `maybe_committed=True`; the caller must look the ticket up by `externalID` before creating again.
- Paging follows `pageDetails.nextPageUrl` with POST and the same body, only to the zone's own origin (section 3).
- Every request goes through a `ConcurrencyLimiter` keyed by (database, integration code, entity) (section 6)
  and is counted per entity in `client.stats` (and reported to `on_request`, if given).
- The secret, the API key and the integration code never reach logs or exception text.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from helpdesk.autotask import errors as e
from helpdesk.autotask.cache import TTLCache
from helpdesk.autotask.config import AutotaskSettings
from helpdesk.autotask.credentials import AutotaskCredentials
from helpdesk.autotask.limiter import default_limiter
from helpdesk.autotask.models import (
    AtCompany,
    AtConfigurationItem,
    AtContact,
    AtFieldInfo,
    AtResource,
    AtTicket,
    AtTicketAttachment,
    AtTicketNote,
    AtWebhook,
    Threshold,
    Zone,
)
from helpdesk.autotask.picklists import NotePicklists, Picklists, TicketPicklists
from helpdesk.autotask.redact import redact
from helpdesk.ports import ConcurrencyLimiter, LimiterKey

log = logging.getLogger("helpdesk.autotask")

Json = Any
Filter = dict[str, Any]

MAX_RECORDS = 500  # section 3: MaxRecords must be 1-500
MAX_PAGES = 50  # Autotask keeps only the 50 most recent pages (section 3, [I]); also a loop bound
MAX_ATTACHMENT_BYTES = 6 * 1024 * 1024  # section 4.5: "6 to 7 MB" per file; raw bytes, before base64 [I]
ATTACHMENT_WINDOW_BYTES = 10_000_000  # section 4.5: per database per five minutes
ATTACHMENT_WINDOW_SECONDS = 300.0
PUBLISH_ALL_USERS = 1  # TicketNote/attachment `publish` 1 = "All Autotask Users" (section 4.4)
PUBLISH_INTERNAL_ONLY = 2  # "Internal Only": integer unverified [I]; read note_picklists() when it matters
DEFAULT_NOTE_TYPE = 1  # Postman uses NoteType 1 (section 4.4)
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds

_THREAD_TEXT = ("thread threshold", "itgenatr005")
_THRESHOLD_TEXT = ("request threshold", "threshold has been exceeded", "requests per hour")
_PERMISSION_TEXT = ("permission", "not authorized", "access denied", "security level")
_VALIDATION_TEXT = (
    "does not reference",
    "is required",
    "required field",
    "invalid",
    "must be",
    "not valid",
    "cannot",
    "can not",
    "exceed",
    "too long",
    "missing",
    "not allowed",
    "unknown field",
    "not a valid",
)


# --------------------------------------------------------------------------------------------- stats


@dataclass(frozen=True)
class RequestEvent:
    """One HTTP exchange with Autotask (reported to `on_request`)."""

    method: str
    entity: str
    status: int | None  # None: no response (timeout, connection error)
    elapsed: float
    attempt: int


class RequestStats:
    """Thread-safe count of HTTP requests sent, per entity (retries and pages each count once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_entity: Counter[str] = Counter()

    def record(self, entity: str) -> None:
        with self._lock:
            self._by_entity[entity] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._by_entity.values())

    def by_entity(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_entity)

    def reset(self) -> None:
        with self._lock:
            self._by_entity.clear()


class AttachmentBudget:
    """Sliding-window record of attachment bytes per database: 10,000,000 bytes per 5 minutes (section 4.5)."""

    def __init__(
        self,
        limit: int = ATTACHMENT_WINDOW_BYTES,
        window: float = ATTACHMENT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: dict[str, deque[tuple[float, int]]] = {}

    def reserve(self, database: str, size: int) -> None:
        """Count `size` bytes now or raise `AttachmentQuotaExceeded` with the wait until they fit."""
        with self._lock:
            now = self._clock()
            q = self._sent.setdefault(database, deque())
            while q and q[0][0] <= now - self.window:
                q.popleft()
            used = sum(n for _, n in q)
            if used + size > self.limit:
                freed, wait = used, self.window
                for ts, n in q:
                    freed -= n
                    if freed + size <= self.limit:
                        wait = ts + self.window - now
                        break
                raise e.AttachmentQuotaExceeded(
                    f"{used + size:,} attachment bytes in 5 minutes would exceed Autotask's 10,000,000",
                    retry_after=max(1.0, wait),
                )
            q.append((now, size))


default_zone_cache: TTLCache[tuple[str, str], Zone] = TTLCache(ttl=6 * 3600)
default_picklist_cache: TTLCache[tuple[str, str], Picklists] = TTLCache(ttl=15 * 60)
default_attachment_budget = AttachmentBudget()


# ------------------------------------------------------------------------------------ error mapping


def _error_texts(body: Json) -> list[str]:
    """`{"errors": ["..."]}` (strings, or objects with `message`), or ASP.NET's `{"Message": "..."}`."""
    out: list[str] = []
    if isinstance(body, dict):
        errs = body.get("errors") or body.get("Errors")
        if isinstance(errs, list):
            for item in errs[:20]:
                if isinstance(item, str):
                    out.append(item)
                elif isinstance(item, dict):
                    msg = item.get("message") or item.get("Message")
                    if msg:
                        out.append(str(msg))
        for key in ("Message", "message"):
            if not out and isinstance(body.get(key), str):
                out.append(body[key])
    return [t[:1000] for t in out]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(status: int, texts: Sequence[str], retry_after: float | None = None) -> e.AutotaskError:
    """Map an HTTP status plus Autotask's error texts to a typed error (section 6: status AND text)."""
    low = " ".join(texts).lower()
    kw: dict[str, Any] = {"status": status, "errors": texts}
    if any(t in low for t in _THREAD_TEXT):
        return e.ThreadLimitExceeded(retry_after=retry_after, **kw)
    if "attach" in low and ("five minutes" in low or "5 minutes" in low):
        return e.AttachmentQuotaExceeded(retry_after=retry_after or ATTACHMENT_WINDOW_SECONDS, **kw)
    if status == 429 or (any(t in low for t in _THRESHOLD_TEXT) and "exceed" in low):
        return e.Throttled(retry_after=retry_after, **kw)
    if "integrationcode is invalid" in low.replace(" code", "code"):
        return e.InvalidIntegrationCode(**kw)
    if "zone information could not be determined" in low:
        return e.ZoneNotFound(**kw)
    if status == 401:
        return e.AuthenticationError(**kw)
    if status == 403 or any(t in low for t in _PERMISSION_TEXT):
        return e.PermissionError_(**kw)
    if status == 404:
        return e.ItemNotFound(**kw)
    if status in (400, 409, 413, 422):
        return e.ValidationError_(**kw)
    if status == 500 and texts and any(t in low for t in _VALIDATION_TEXT):
        return e.ValidationError_(**kw)
    if status >= 500:
        return e.TransientError(**kw)
    return e.AutotaskError(**kw)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


# ------------------------------------------------------------------------------------------ client


def _parent_entity(path: str) -> str | None:
    """`Tickets/123/Notes` -> `Tickets`: a child collection's requests hold a slot of the parent entity too."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    return parts[0] if len(parts) >= 3 and parts[1].isdigit() else None


class AutotaskClient:
    """One tenant's Autotask API. Thread-safe; reuse one instance per tenant (it owns a `requests.Session`).

    Parameters (all optional except `credentials`):
    - `timeout`: `(connect, read)` seconds, or one number for both;
    - `limiter`: a `ConcurrencyLimiter` (default: the process-wide 3-per-(database, code, entity) limiter);
    - `zone_cache` / `picklist_cache`: `TTLCache`s (defaults are process-wide: 6 h zones, 15 min picklists);
    - `max_attempts`: total attempts for reads (writes always 1); `backoff_base`/`backoff_cap` seconds;
    - `max_retry_wait`: a server `Retry-After` above this is not slept in-process: the error is raised so the
      work queue can back off instead (the dispatcher reads `retry_after` from the error);
    - `on_request`: called after every HTTP exchange with a `RequestEvent` (e.g. to count requests per ticket);
    - `settings`: an `AutotaskSettings` (default: from the environment at construction);
    - `hold_parent_slots`: requests to a child collection (`Tickets/{id}/Notes`) also hold a slot of the parent
      entity (the conservative reading of Autotask's thread limit). Off by default: measured, it cost a third of
      the Tickets throughput and made the fault soak miss its deadline (docs/performance.md).
    """

    def __init__(
        self,
        credentials: AutotaskCredentials,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        limiter: ConcurrencyLimiter | None = None,
        zone_cache: TTLCache[tuple[str, str], Zone] | None = None,
        picklist_cache: TTLCache[tuple[str, str], Picklists] | None = None,
        attachment_budget: AttachmentBudget | None = None,
        max_attempts: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_retry_wait: float = 10.0,
        on_request: Callable[[RequestEvent], None] | None = None,
        settings: AutotaskSettings | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        hold_parent_slots: bool = False,
    ) -> None:
        self.credentials = credentials
        self.hold_parent_slots = hold_parent_slots
        self.settings = settings or AutotaskSettings.from_env()
        self.timeout = timeout if isinstance(timeout, tuple) else (float(timeout), float(timeout))
        self.limiter: ConcurrencyLimiter = limiter if limiter is not None else default_limiter
        self.zone_cache = zone_cache if zone_cache is not None else default_zone_cache
        self.picklist_cache = picklist_cache if picklist_cache is not None else default_picklist_cache
        self.attachment_budget = attachment_budget if attachment_budget is not None else default_attachment_budget
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_wait = max_retry_wait
        self.on_request = on_request
        self.stats = RequestStats()
        self._session = session or requests.Session()
        self._session.trust_env = False  # no proxy/netrc surprises; credentials go only where we decide
        self._sleep = sleep
        self._rand = rand
        self._secrets = credentials.sensitive_values()

    # ----------------------------------------------------------------------------------- lifecycle

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> AutotaskClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AutotaskClient(host={self.credentials.host!r}, username={self.credentials.username!r})"

    # ---------------------------------------------------------------------------------------- zone

    def _zone_key(self) -> tuple[str, str]:
        return (self.settings.zone_url, self.credentials.username.lower())

    def zone(self) -> Zone:
        """The API user's zone (cached). Raises `ZoneNotFound` for an unknown user, `UntrustedEndpoint` if the
        zone URL is not an allowed Autotask host."""
        cached = self.zone_cache.get(self._zone_key())
        if cached is not None:
            return cached
        body = self._with_retries(self._lookup_zone_once, write=False)
        try:
            zone = Zone.model_validate(body)
        except ValueError:
            raise e.ResponseError("zone information had an unexpected shape") from None
        if not self.settings.url_allowed(zone.url):
            raise e.UntrustedEndpoint(
                f"zone discovery returned {redact(zone.url, self._secrets)[:200]!r}, which is not an Autotask "
                "web services URL; credentials were not sent"
            )
        self.zone_cache.put(self._zone_key(), zone)
        return zone

    def _lookup_zone_once(self, attempt: int) -> Json:
        # Unauthenticated and not thread-limited (section 1): no credential headers, no limiter.
        return self._exchange(
            "GET",
            self.settings.zone_url,
            entity="ZoneInformation",
            params={"user": self.credentials.username},
            headers={"Accept": "application/json"},
            write=False,
            attempt=attempt,
        )

    def _database(self, zone: Zone) -> str:
        return str(zone.ci) if zone.ci is not None else zone.url.lower()

    # ------------------------------------------------------------------------------- HTTP plumbing

    def _auth_headers(self) -> dict[str, str]:
        c = self.credentials
        return {
            "ApiIntegrationCode": c.integration_code,
            "UserName": c.username,
            "Secret": c.secret,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        entity: str,
        write: bool,
        attempt: int,
        headers: Mapping[str, str],
        body: Json = None,
        params: Mapping[str, str] | None = None,
    ) -> Json:
        """Send one request and parse it; raises typed errors with secrets redacted and no exception chain."""
        start = time.monotonic()
        failure: e.AutotaskError | None = None
        resp: requests.Response | None = None
        try:
            resp = self._session.request(
                method,
                url,
                headers=dict(headers),
                json=body,
                params=params,
                timeout=self.timeout,
                allow_redirects=False,
            )
            raw = resp.content  # read inside the try: a reset while reading is a transport error too
        except requests.ConnectTimeout as exc:
            failure = e.EndpointTimeout(self._describe(exc))
        except requests.Timeout as exc:
            failure = e.EndpointTimeout(self._describe(exc), maybe_committed=write)
        except requests.ConnectionError as exc:
            failure = e.TransientError(self._describe(exc), maybe_committed=write)
        except requests.RequestException as exc:
            failure = e.TransientError(self._describe(exc), maybe_committed=write)
        elapsed = time.monotonic() - start
        status = resp.status_code if resp is not None and failure is None else None
        self._record(method, entity, status, elapsed, attempt)
        if failure is not None:
            # Raised outside the `except` block on purpose: the requests exception is not chained.
            raise failure
        assert resp is not None
        return self._parse(resp, raw, write=write)

    def _describe(self, exc: BaseException) -> str:
        return redact(f"{type(exc).__name__}: {exc}", self._secrets)[:500]

    def _record(self, method: str, entity: str, status: int | None, elapsed: float, attempt: int) -> None:
        self.stats.record(entity)
        log.debug(
            "autotask request",
            extra={
                "method": method,
                "entity": entity,
                "status": status,
                "ms": round(elapsed * 1000),
                "attempt": attempt,
            },
        )
        if self.on_request is not None:
            try:
                self.on_request(RequestEvent(method, entity, status, elapsed, attempt))
            except Exception:  # a broken metrics hook must not fail the request
                log.warning("on_request hook failed", exc_info=False)

    def _parse(self, resp: requests.Response, raw: bytes, *, write: bool) -> Json:
        status = resp.status_code
        body: Json = None
        parsed = False
        if raw.strip():
            try:
                body = json.loads(raw)
                parsed = True
            except ValueError:
                parsed = False
        if 200 <= status < 300:
            if not parsed:
                raise e.ResponseError(
                    f"HTTP {status} with a body that is not JSON", status=status, maybe_committed=write
                )
            return body
        if 300 <= status < 400:
            raise e.UntrustedEndpoint(f"unexpected redirect (HTTP {status}); not followed", status=status)
        texts = [redact(t, self._secrets) for t in _error_texts(body)]
        err = classify(status, texts, parse_retry_after(resp.headers.get("Retry-After")))
        if write and isinstance(err, e.TransientError):
            err.maybe_committed = True
        raise err

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * float(2 ** min(attempt - 1, 20)))
        delay: float = self._rand() * ceiling
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def _with_retries(self, once: Callable[[int], Json], *, write: bool) -> Json:
        attempts = 1 if write else self.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                return once(attempt)
            except e.AutotaskError as err:
                if not err.retryable or attempt >= attempts:
                    raise
                delay = self._backoff(attempt, err.retry_after)
                if delay > self.max_retry_wait:
                    raise
                log.info(
                    "autotask retry", extra={"attempt": attempt, "delay": round(delay, 3), "error": type(err).__name__}
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(
        self,
        method: str,
        path: str,
        *,
        entity: str,
        body: Json = None,
        params: Mapping[str, str] | None = None,
        write: bool = False,
        absolute_url: str | None = None,
    ) -> Json:
        """One logical API call: zone, limiter, retries for reads, one zone re-resolve on 401."""
        reresolved = False
        while True:
            zone = self.zone()
            url = absolute_url or (zone.api_base + path)
            if _origin(url) != _origin(zone.api_base) or not self.settings.url_allowed(url):
                raise e.UntrustedEndpoint("a URL outside the tenant's Autotask zone was refused; credentials not sent")
            parent = _parent_entity(path) if self.hold_parent_slots else None
            key = LimiterKey(self._database(zone), self.credentials.integration_code, entity, parent)

            def once(attempt: int, url: str = url, key: LimiterKey = key) -> Json:
                with self.limiter.acquire(key):
                    return self._exchange(
                        method,
                        url,
                        entity=entity,
                        write=write,
                        attempt=attempt,
                        headers=self._auth_headers(),
                        body=body,
                        params=params,
                    )

            try:
                return self._with_retries(once, write=write)
            except e.AuthenticationError as err:
                if err.status != 401 or reresolved:
                    raise
                # Section 1: the wrong zone gives 401; re-resolve once, repeat only if the zone moved.
                reresolved = True
                self.zone_cache.invalidate(self._zone_key())
                if self.zone().url == zone.url:
                    raise
                log.info("autotask zone changed after 401; repeating once")

    # ---------------------------------------------------------------------------------- primitives

    def query(
        self,
        entity: str,
        filters: Sequence[Filter],
        *,
        include_fields: Sequence[str] | None = None,
        max_records: int = MAX_RECORDS,
        limit: int | None = None,
        max_pages: int = MAX_PAGES,
    ) -> list[dict[str, Any]]:
        """`POST /V1.0/{entity}/query`, following `nextPageUrl` (POST, same body, same origin) up to `max_pages`."""
        if not 1 <= max_records <= MAX_RECORDS:
            raise e.ValidationError_("MaxRecords must be between 1 and 500")
        if not filters:
            raise e.ValidationError_("a query needs at least one filter")
        body: dict[str, Any] = {"filter": list(filters), "MaxRecords": max_records}
        if include_fields:
            fields = list(include_fields)
            if not any(f.lower() == "id" for f in fields):
                fields.insert(0, "id")  # section 3: required for result sets over 500
            body["IncludeFields"] = fields
        rows: list[dict[str, Any]] = []
        url: str | None = None
        for _page in range(max_pages):
            page = self._call("POST", f"{entity}/query", entity=entity, body=body, absolute_url=url)
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise e.ResponseError(f"{entity} query answer has no items list")
            rows.extend(i for i in items if isinstance(i, dict))
            if limit is not None and len(rows) >= limit:
                return rows[:limit]
            details = page.get("pageDetails") or {}
            url = details.get("nextPageUrl") if isinstance(details, dict) else None
            if not url:
                return rows
        log.warning("autotask query stopped after max_pages", extra={"entity": entity, "pages": max_pages})
        return rows

    def get_item(self, entity: str, item_id: int) -> dict[str, Any] | None:
        """`GET /V1.0/{entity}/{id}`; `{"item": null}` and 404 both mean not found (section 4)."""
        try:
            body = self._call("GET", f"{entity}/{int(item_id)}", entity=entity)
        except e.ItemNotFound:
            return None
        if not isinstance(body, dict) or "item" not in body:
            raise e.ResponseError(f"{entity} answer has no item")
        item = body["item"]
        return item if isinstance(item, dict) and item else None

    def create(self, path: str, fields: Mapping[str, Any], *, entity: str) -> int:
        """POST a create (never retried). Returns Autotask's `itemId`."""
        body = self._call("POST", path, entity=entity, body=dict(fields), write=True)
        item_id = body.get("itemId") if isinstance(body, dict) else None
        if not isinstance(item_id, int) or isinstance(item_id, bool):
            texts = [redact(t, self._secrets) for t in _error_texts(body)]
            raise e.ResponseError(f"{entity} create answer has no itemId", errors=texts, maybe_committed=True)
        return item_id

    def patch(self, path: str, item_id: int, fields: Mapping[str, Any], *, entity: str) -> int:
        """PATCH `{id, changed fields}` (only the given fields change; section 4). Not retried."""
        body = self._call("PATCH", path, entity=entity, body={**dict(fields), "id": int(item_id)}, write=True)
        got = body.get("itemId") if isinstance(body, dict) else None
        return got if isinstance(got, int) else int(item_id)

    # --------------------------------------------------------------------------- contacts & co

    def find_contact_by_email(self, email: str, *, active_only: bool = True) -> AtContact | None:
        """The contact whose `emailAddress`, `emailAddress2` or `emailAddress3` is `email` (case-insensitive).

        Prefers active contacts, then a primary-address match, then the lowest id."""
        email = email.strip()
        if not email or len(email) > 254:
            return None
        group = {
            "op": "or",
            "items": [
                {"op": "eq", "field": f, "value": email} for f in ("emailAddress", "emailAddress2", "emailAddress3")
            ],
        }
        filters: list[Filter] = [group]
        if active_only:
            filters.append({"op": "eq", "field": "isActive", "value": True})
        rows = self.query("Contacts", filters, max_records=50, limit=50)
        contacts = [AtContact.model_validate(r) for r in rows]
        if not contacts:
            return None
        low = email.casefold()
        contacts.sort(
            key=lambda c: (not c.is_active, (c.email_address or "").casefold() != low, c.id),
        )
        return contacts[0]

    def get_contact(self, contact_id: int) -> AtContact | None:
        item = self.get_item("Contacts", contact_id)
        return AtContact.model_validate(item) if item else None

    def get_company(self, company_id: int) -> AtCompany | None:
        """Company by id (id 0 is the MSP's own company; section 4.2)."""
        item = self.get_item("Companies", company_id)
        return AtCompany.model_validate(item) if item else None

    def get_resource(self, resource_id: int) -> AtResource | None:
        """An Autotask user (technician) by id; None when unknown or not readable."""
        item = self.get_item("Resources", resource_id)
        return AtResource.model_validate(item) if item else None

    def find_configuration_item(self, hostname: str, company_id: int) -> AtConfigurationItem | None:
        """The active configuration item of `company_id` whose reference title is `hostname` (lowest id)."""
        hostname = hostname.strip()
        if not hostname:
            return None
        filters: list[Filter] = [
            {"op": "eq", "field": "referenceTitle", "value": hostname},
            {"op": "eq", "field": "companyID", "value": int(company_id)},
            {"op": "eq", "field": "isActive", "value": True},
        ]
        rows = self.query("ConfigurationItems", filters, max_records=10, limit=10)
        items = sorted((AtConfigurationItem.model_validate(r) for r in rows), key=lambda c: c.id)
        return items[0] if items else None

    def billing_codes(self, *, active_only: bool = True) -> list[dict[str, Any]]:
        """BillingCodes ("work types" / allocation codes) as `{id, name, isActive, useType}` dicts."""
        filters: list[Filter] = [{"op": "gte", "field": "id", "value": 0}]
        if active_only:
            filters.append({"op": "eq", "field": "isActive", "value": True})
        return self.query("BillingCodes", filters, include_fields=["id", "name", "isActive", "useType"])

    # ------------------------------------------------------------------------------------ tickets

    def create_ticket(self, fields: Mapping[str, Any]) -> int:
        """`POST /V1.0/Tickets`. Required by Autotask: companyID, priority, status, title (section 4.3).

        Send `externalID` (your correlation key). Never retried: on an error with `maybe_committed`, call
        `find_ticket_by_external_id` before creating again."""
        return self.create("Tickets", fields, entity="Tickets")

    def find_ticket_by_external_id(self, external_id: str) -> AtTicket | None:
        rows = self.query(
            "Tickets", [{"op": "eq", "field": "externalID", "value": external_id}], max_records=10, limit=10
        )
        tickets = sorted((AtTicket.model_validate(r) for r in rows), key=lambda t: t.id)
        return tickets[0] if tickets else None

    def get_ticket(self, ticket_id: int) -> AtTicket | None:
        item = self.get_item("Tickets", ticket_id)
        return AtTicket.model_validate(item) if item else None

    def update_ticket(self, ticket_id: int, fields: Mapping[str, Any]) -> int:
        """`PATCH /V1.0/Tickets` with `{"id": ticket_id, ...fields}` (there is no `PATCH /Tickets/{id}`)."""
        return self.patch("Tickets", ticket_id, fields, entity="Tickets")

    # -------------------------------------------------------------------------------------- notes

    def create_ticket_note(
        self,
        ticket_id: int,
        title: str,
        description: str,
        publish: int = PUBLISH_ALL_USERS,
        note_type: int = DEFAULT_NOTE_TYPE,
    ) -> int:
        """`POST /V1.0/Tickets/{id}/Notes` (section 4.4; always send a title: categories may require one)."""
        fields = {
            "ticketID": int(ticket_id),
            "title": title,
            "description": description,
            "publish": int(publish),
            "noteType": int(note_type),
        }
        return self.create(f"Tickets/{int(ticket_id)}/Notes", fields, entity="TicketNotes")

    def list_ticket_notes(
        self,
        ticket_id: int,
        since_id: int | None = None,
        since: datetime | None = None,
        published_only: bool = False,
        *,
        publish: int | None = None,
    ) -> list[AtTicketNote]:
        """Notes of a ticket, oldest id first: newer than `since_id` and/or created at/after `since` (UTC);
        `published_only` keeps publish = All Autotask Users (or pass `publish` for another level)."""
        filters: list[Filter] = [{"op": "eq", "field": "ticketID", "value": int(ticket_id)}]
        if since_id is not None:
            filters.append({"op": "gt", "field": "id", "value": int(since_id)})
        if since is not None:
            when = since if since.tzinfo else since.replace(tzinfo=UTC)
            stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            filters.append({"op": "gte", "field": "createDateTime", "value": stamp})
        level = publish if publish is not None else (PUBLISH_ALL_USERS if published_only else None)
        if level is not None:
            filters.append({"op": "eq", "field": "publish", "value": int(level)})
        rows = self.query("TicketNotes", filters)
        return sorted((AtTicketNote.model_validate(r) for r in rows), key=lambda n: n.id)

    # -------------------------------------------------------------------------------- attachments

    def create_ticket_attachment(
        self,
        ticket_id: int,
        filename: str,
        data: bytes,
        title: str | None = None,
        publish: int = PUBLISH_ALL_USERS,
    ) -> int:
        """`POST /V1.0/Tickets/{id}/Attachments` with base64 `data` (section 4.5).

        Raises `AttachmentTooLarge` above 6 MB (raw) and `AttachmentQuotaExceeded` (with `retry_after`) when
        the database's 10,000,000 bytes per 5 minutes would be exceeded. Not retried."""
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise e.AttachmentTooLarge(f"{filename!r} is {len(data):,} bytes; Autotask accepts at most 6 MB per file")
        if not data:
            raise e.ValidationError_(f"{filename!r} is empty")
        zone = self.zone()
        self.attachment_budget.reserve(self._database(zone), len(data))
        fields = {
            "id": 0,
            "attachmentType": "FILE_ATTACHMENT",
            "fullPath": filename,
            "title": (title or filename)[:255],
            "publish": int(publish),
            "data": base64.b64encode(data).decode("ascii"),
        }
        return self.create(f"Tickets/{int(ticket_id)}/Attachments", fields, entity="TicketAttachments")

    def find_ticket_attachments(self, ticket_id: int) -> list[AtTicketAttachment]:
        """The attachments of a ticket (id, title, file name), lowest id first; at most 100."""
        rows = self.query(
            "TicketAttachments",
            [{"op": "eq", "field": "parentID", "value": int(ticket_id)}],
            include_fields=["id", "parentID", "title", "fullPath"],
            max_records=100,
            limit=100,
        )
        return sorted((AtTicketAttachment.model_validate(r) for r in rows), key=lambda a: a.id)

    # --------------------------------------------------------------------------------- picklists

    def _fields(self, path: str, entity: str) -> list[AtFieldInfo]:
        body = self._call("GET", path, entity=entity)
        raw = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(raw, list):
            raise e.ResponseError(f"{path} answer has no fields list")
        return [AtFieldInfo.model_validate(f) for f in raw if isinstance(f, dict)]

    def _cached_picklists(self, name: str, build: Callable[[], Picklists]) -> Picklists:
        key = (self._database(self.zone()) + "|" + self.zone().url.lower(), name)
        hit = self.picklist_cache.get(key)
        if hit is not None:
            return hit
        value = build()
        self.picklist_cache.put(key, value)
        return value

    def ticket_picklists(self) -> TicketPicklists:
        """Ticket picklists from `Tickets/entityInformation/fields`, cached per tenant database (TTL)."""
        got = self._cached_picklists(
            "Tickets", lambda: TicketPicklists(self._fields("Tickets/entityInformation/fields", "Tickets"))
        )
        assert isinstance(got, TicketPicklists)
        return got

    def note_picklists(self) -> NotePicklists:
        """`noteType` and `publish` from `TicketNotes/entityInformation/fields` (cached)."""
        got = self._cached_picklists(
            "TicketNotes", lambda: NotePicklists(self._fields("TicketNotes/entityInformation/fields", "TicketNotes"))
        )
        assert isinstance(got, NotePicklists)
        return got

    def entity_information(self, entity: str) -> dict[str, Any]:
        """`GET /V1.0/{entity}/entityInformation` -> its `info` (`canCreate`, `userAccessForCreate`, ...): what
        this API user may do, for the admin's Integration Test (research section 5)."""
        body = self._call("GET", f"{entity}/entityInformation", entity=entity)
        info = body.get("info") if isinstance(body, dict) else None
        if not isinstance(info, dict):
            raise e.ResponseError(f"{entity}/entityInformation answer has no info")
        return info

    def threshold(self) -> Threshold:
        """`GET /V1.0/ThresholdInformation` (counts against the budget and is thread-limited; poll sparingly)."""
        return Threshold.model_validate(self._call("GET", "ThresholdInformation", entity="ThresholdInformation"))

    # ---------------------------------------------------------------------------------- webhooks

    def _create_webhook(
        self,
        entity: Literal["TicketWebhooks", "TicketNoteWebhooks"],
        name: str,
        webhook_url: str,
        secret_key: str,
        *,
        deactivation_url: str | None,
        notification_email: str | None,
        create_events: bool,
        update_events: bool,
        delete_events: bool,
        send_threshold_notification: bool,
    ) -> int:
        if not 1 <= len(secret_key) <= 64:
            raise e.ValidationError_("the webhook secret key must be 1-64 characters")
        fields: dict[str, Any] = {
            "name": name[:50],
            "webhookUrl": webhook_url,
            "deactivationUrl": deactivation_url or webhook_url,
            "secretKey": secret_key,
            "isActive": True,
            "isSubscribedToCreateEvents": create_events,
            "isSubscribedToUpdateEvents": update_events,
            "isSubscribedToDeleteEvents": delete_events,
            "sendThresholdExceededNotification": send_threshold_notification,
        }
        if notification_email:
            fields["notificationEmailAddress"] = notification_email
        # The secret key is a write-only value for us: keep it out of logs and error text.
        self._secrets = (*self._secrets, secret_key)
        return self.create(entity, fields, entity=entity)

    def create_ticket_webhook(
        self,
        name: str,
        webhook_url: str,
        secret_key: str,
        *,
        deactivation_url: str | None = None,
        notification_email: str | None = None,
        create_events: bool = True,
        update_events: bool = True,
        delete_events: bool = False,
        send_threshold_notification: bool = False,
    ) -> int:
        """`POST /V1.0/TicketWebhooks` (section 7). Add at least one subscribed field with
        `create_ticket_webhook_field` or Autotask never makes it ready."""
        return self._create_webhook(
            "TicketWebhooks",
            name,
            webhook_url,
            secret_key,
            deactivation_url=deactivation_url,
            notification_email=notification_email,
            create_events=create_events,
            update_events=update_events,
            delete_events=delete_events,
            send_threshold_notification=send_threshold_notification,
        )

    def create_ticket_note_webhook(
        self,
        name: str,
        webhook_url: str,
        secret_key: str,
        *,
        deactivation_url: str | None = None,
        notification_email: str | None = None,
        create_events: bool = True,
        update_events: bool = False,
        delete_events: bool = False,
        send_threshold_notification: bool = False,
    ) -> int:
        """`POST /V1.0/TicketNoteWebhooks` (ticket-note events: the only signed push for new notes)."""
        return self._create_webhook(
            "TicketNoteWebhooks",
            name,
            webhook_url,
            secret_key,
            deactivation_url=deactivation_url,
            notification_email=notification_email,
            create_events=create_events,
            update_events=update_events,
            delete_events=delete_events,
            send_threshold_notification=send_threshold_notification,
        )

    def _webhook_field_ids(self, entity: str) -> dict[str, int]:
        infos = self._fields(f"{entity}/entityInformation/fields", entity)
        out: dict[str, int] = {}
        for f in infos:
            if f.name.casefold() == "fieldid":
                for v in f.picklist_values or []:
                    if v.is_active and v.int_value is not None:
                        out[v.label.casefold()] = v.int_value
        return out

    def ticket_webhook_field_ids(self) -> dict[str, int]:
        """Ticket field name (casefolded) -> `fieldID` for webhook Fields, from the `fieldID` picklist of
        `TicketWebhookFields/entityInformation/fields`."""
        return self._webhook_field_ids("TicketWebhookFields")

    def ticket_note_webhook_field_ids(self) -> dict[str, int]:
        return self._webhook_field_ids("TicketNoteWebhookFields")

    def _create_webhook_field(
        self, parent: str, entity: str, webhook_id: int, field_id: int, subscribed: bool, display_always: bool
    ) -> int:
        fields = {
            "webhookID": int(webhook_id),
            "fieldID": int(field_id),
            "isSubscribedField": subscribed,
            "isDisplayAlwaysField": display_always,
        }
        return self.create(f"{parent}/{int(webhook_id)}/Fields", fields, entity=entity)

    def create_ticket_webhook_field(
        self, webhook_id: int, field_id: int, *, subscribed: bool = True, display_always: bool = True
    ) -> int:
        """`POST /V1.0/TicketWebhooks/{id}/Fields`."""
        return self._create_webhook_field(
            "TicketWebhooks", "TicketWebhookFields", webhook_id, field_id, subscribed, display_always
        )

    def create_ticket_note_webhook_field(
        self, webhook_id: int, field_id: int, *, subscribed: bool = True, display_always: bool = True
    ) -> int:
        """`POST /V1.0/TicketNoteWebhooks/{id}/Fields`."""
        return self._create_webhook_field(
            "TicketNoteWebhooks", "TicketNoteWebhookFields", webhook_id, field_id, subscribed, display_always
        )

    def get_ticket_webhook(self, webhook_id: int) -> AtWebhook | None:
        item = self.get_item("TicketWebhooks", webhook_id)
        return AtWebhook.model_validate(item) if item else None

    def get_ticket_note_webhook(self, webhook_id: int) -> AtWebhook | None:
        item = self.get_item("TicketNoteWebhooks", webhook_id)
        return AtWebhook.model_validate(item) if item else None

    def delete_ticket_webhook(self, webhook_id: int) -> None:
        self._call("DELETE", f"TicketWebhooks/{int(webhook_id)}", entity="TicketWebhooks", write=True)

    def delete_ticket_note_webhook(self, webhook_id: int) -> None:
        self._call("DELETE", f"TicketNoteWebhooks/{int(webhook_id)}", entity="TicketNoteWebhooks", write=True)
