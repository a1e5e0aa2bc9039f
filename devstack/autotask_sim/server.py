"""The Autotask simulator: a threaded HTTP server on loopback speaking the REST subset the service uses.

    sim = AutotaskSimulator()
    base_url = sim.start(host="127.0.0.1", port=0)      # http://127.0.0.1:<port>
    os.environ.update(sim.client_env())                  # AUTOTASK_ZONE_URL / _HOST_PATTERN / _SCHEME
    ...
    sim.stop()

Autotask routes live under `/ATServicesRest/` (case-insensitive). The control/inspection API lives under `/_sim/`
(no auth; loopback only). See docs/autotask.md for the list.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hmac
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import asdict, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from devstack.autotask_sim import seed
from devstack.autotask_sim.catalogue import FIELDS_INFO_ENTITIES, QUERYABLE, WEBHOOK_ENTITIES
from devstack.autotask_sim.notify import Notifier
from devstack.autotask_sim.seed import SimTenant
from devstack.autotask_sim.store import (
    INTEGRATION_CODE_TEXT,
    PERMISSION_TEXT,
    THREAD_LIMIT,
    THREAD_LIMIT_TEXT,
    ZONE_TEXT,
    Database,
    Faults,
    SimError,
    World,
    canonicalise,
    public,
)

MAX_BODY = 12 * 1024 * 1024  # base64 of a 6 MB attachment plus JSON
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ENTITY_BY_LOWER = {e.lower(): e for e in (*QUERYABLE, "ThresholdInformation")}
_INFO_BY_LOWER = {e.lower(): e for e in FIELDS_INFO_ENTITIES}
_WEBHOOK_BY_LOWER = {e.lower(): e for e in WEBHOOK_ENTITIES}


class _Dropped(Exception):
    """Close the connection without an answer (fault injection: commit then drop)."""


class _Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


def _field_info(name: str, data_type: str, *, required: bool = False, read_only: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "dataType": data_type,
        "length": 0,
        "isRequired": required,
        "isReadOnly": read_only,
        "isQueryable": True,
        "isReference": name.endswith("ID") and name not in ("queueID", "externalID"),
        "referenceEntityType": "",
        "isPickList": False,
        "picklistValues": None,
        "picklistParentValueField": "",
        "isSupportedWebhookField": False,
    }


def _picklist_info(
    name: str, values: list[dict[str, Any]], *, required: bool = False, parent: str = ""
) -> dict[str, Any]:
    info = _field_info(name, "integer", required=required)
    info.update(
        {"isPickList": True, "isReference": False, "picklistValues": values, "picklistParentValueField": parent}
    )
    return info


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True


class AutotaskSimulator:
    """Multi-tenant Autotask simulator. All public methods are thread-safe."""

    def __init__(
        self,
        *,
        hourly_limit: int = 10_000,
        thread_limit: int = THREAD_LIMIT,
        latency_tiers: tuple[float, float] = (0.5, 1.0),
        missing_item_404: bool = False,
        seed_random: int | None = None,
    ) -> None:
        self.world = World()
        self.thread_limit = thread_limit
        self.latency_tiers = latency_tiers  # seconds added at >= 50% / >= 75% of the hourly budget
        self.missing_item_404 = missing_item_404
        self.notifier = Notifier()
        self._rand = random.Random(seed_random)
        self._hourly_default = hourly_limit
        for db in self.world.databases.values():
            db.hourly_limit = hourly_limit
        self._stats_lock = threading.Lock()
        self._inflight: Counter[tuple[str, str, str]] = Counter()
        self._max_seen: Counter[tuple[str, str, str]] = Counter()
        self._by_endpoint: Counter[str] = Counter()
        self._by_db: Counter[str] = Counter()
        self._thread_limit_errors = 0
        self._faults_injected: Counter[str] = Counter()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------------------------- lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if host not in LOOPBACK:
            raise ValueError("the Autotask simulator binds to loopback only")
        sim = self

        class Handler(_Handler):
            simulator = sim

        self._server = _Server((host, port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="autotask-sim", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.notifier.shutdown()

    def __enter__(self) -> AutotaskSimulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """What a tenant types as the API endpoint host when using the simulator."""
        return f"127.0.0.1:{self.port}"

    @property
    def zone_url(self) -> str:
        return f"{self.base_url}/ATServicesRest/"

    def client_env(self) -> dict[str, str]:
        return {
            "AUTOTASK_ZONE_URL": f"{self.base_url}/atservicesrest/v1.0/zoneInformation",
            "AUTOTASK_HOST_PATTERN": re.escape(self.host),
            "AUTOTASK_SCHEME": "http",
        }

    # --------------------------------------------------------------------------- control API

    def _db(self, database: str) -> Database:
        db = self.world.databases.get(database)
        if db is None:
            raise KeyError(f"unknown database {database!r}")
        return db

    def set_faults(self, database: str, **kwargs: Any) -> dict[str, Any]:
        """Replace the database's faults, e.g. `set_faults("demo", error_rate=1.0, count=1, entities=["Tickets"])`.
        `outage_seconds=N` is a shortcut for `outage_until=time.time()+N`."""
        allowed = {f.name for f in fields(Faults)}
        if "outage_seconds" in kwargs:
            kwargs["outage_until"] = time.time() + float(kwargs.pop("outage_seconds"))
        bad = set(kwargs) - allowed
        if bad:
            raise ValueError(f"unknown fault settings: {sorted(bad)}")
        with self.world.lock:
            db = self._db(database)
            db.faults = Faults(**kwargs)
            return asdict(db.faults)

    def clear_faults(self, database: str | None = None) -> None:
        with self.world.lock:
            for name, db in self.world.databases.items():
                if database in (None, name):
                    db.faults = Faults()

    def set_hourly_limit(self, database: str, limit: int) -> None:
        with self.world.lock:
            self._db(database).hourly_limit = limit

    def add_api_user(self, database: str, username: str, secret: str) -> None:
        """Another API user in the same database (several integrations share one database's budget)."""
        with self.world.lock:
            self._db(database).users[username.strip().lower()] = secret

    def add_integration_code(self, database: str, code: str) -> None:
        """Another tracking identifier accepted by the database (thread limits are per code + entity)."""
        with self.world.lock:
            self._db(database).integration_codes.add(code)

    def set_entity_access(self, database: str, entity: str, **flags: bool) -> None:
        """Restrict the API user, e.g. `set_entity_access("demo", "Tickets", userAccessForCreate=False)`:
        creates then fail with Autotask's permission text; `userAccessForQuery=False` makes queries return nothing."""
        with self.world.lock:
            self._db(database).entity_access.setdefault(entity, {}).update(flags)

    def register_callout(self, database: str, url: str) -> None:
        """Like an Extension Callout plus the two workflow rules (created/edited by anyone)."""
        with self.world.lock:
            db = self._db(database)
            if url not in db.callouts:
                db.callouts.append(url)

    def clear_callouts(self, database: str) -> None:
        with self.world.lock:
            self._db(database).callouts.clear()

    def add_contacts(
        self, database: str, count: int, *, company_id: int = seed.CONTOSO_ID, prefix: str = "bulk"
    ) -> None:
        """Bulk contacts for paging tests (`bulk0001@...`)."""
        with self.world.lock:
            db = self._db(database)
            for i in range(count):
                cid = self.world.next_id()
                db.table("Contacts")[cid] = {
                    "id": cid,
                    "companyID": company_id,
                    "firstName": prefix.title(),
                    "lastName": f"{i:05d}",
                    "emailAddress": f"{prefix}{i:05d}@contoso.com",
                    "isActive": 1,
                }

    def set_picklist(self, database: str, field: str, values: list[dict[str, Any]]) -> None:
        with self.world.lock:
            self._db(database).ticket_picklists[field] = values

    def add_database(self, tenant: SimTenant) -> None:
        """Another Autotask database (its own API user, seed data and picklists), e.g. for a test that changes
        picklists without touching the shared `demo` database. `reset()` removes it."""
        with self.world.lock:
            self.world.add_database(tenant).hourly_limit = self._hourly_default

    def set_picklist_default(self, database: str, field: str, label: str | None) -> None:
        """Mark `label` as the field's only `isDefaultValue` value; `None`: the field has no default at all
        (a tenant without a default priority: creates without `priority` are then refused)."""
        with self.world.lock:
            values = self._db(database).ticket_picklists[field]
            if label is not None and not any(v["label"] == label for v in values):
                raise KeyError(f"{field} has no value {label!r}")
            for v in values:
                v["isDefaultValue"] = v["label"] == label

    def set_category_required(self, database: str, category: int, required: list[str]) -> None:
        """Make a ticket category require fields: a create in that category without them is refused with
        `<field> is required for this ticket category.`"""
        with self.world.lock:
            self._db(database).category_required[int(category)] = list(required)

    def tickets(self, database: str) -> list[dict[str, Any]]:
        """Tickets with their notes and attachments (metadata), oldest first."""
        with self.world.lock:
            db = self._db(database)
            out = []
            for t in sorted(db.table("Tickets").values(), key=lambda r: int(r["id"])):
                item = public("Tickets", t)
                item["notes"] = [
                    public("TicketNotes", n)
                    for n in sorted(db.table("TicketNotes").values(), key=lambda r: int(r["id"]))
                    if n["ticketID"] == t["id"]
                ]
                item["attachments"] = [
                    public("TicketAttachments", a)
                    for a in sorted(db.table("TicketAttachments").values(), key=lambda r: int(r["id"]))
                    if a["parentID"] == t["id"]
                ]
                out.append(item)
            return out

    def attachment_data(self, database: str, attachment_id: int) -> bytes | None:
        with self.world.lock:
            return self._db(database).attachment_data.get(attachment_id)

    def technician(
        self,
        ticket_id: int,
        *,
        status: str | int | None = None,
        note: str | None = None,
        note_title: str = "Technician update",
        publish: int = 1,
        fields_: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A technician edits the ticket in the Autotask UI: change status (label or value), add a note."""
        with self.world.lock:
            found = self.world.find_ticket(ticket_id)
            if found is None:
                raise KeyError(f"unknown ticket {ticket_id}")
            db, rec = found
            changes: dict[str, Any] = dict(fields_ or {})
            if status is not None:
                if isinstance(status, int):
                    changes["status"] = status
                else:
                    match = [v for v in db.ticket_picklists["status"] if v["label"].casefold() == status.casefold()]
                    if not match:
                        raise ValueError(f"unknown status {status!r}")
                    changes["status"] = int(match[0]["value"])
            if changes:
                ticket, changed = self.world.update_ticket(db, {"id": ticket_id, **changes})
                self.notifier.ticket_updated(db, ticket, set(changed), seed.TECHNICIAN_RESOURCE_ID)
            if note:
                n = self.world.create_note(
                    db,
                    ticket_id,
                    {"title": note_title, "description": note, "publish": publish, "noteType": 1},
                    creator=seed.TECHNICIAN_RESOURCE_ID,
                )
                self.notifier.note_created(db, rec, n, seed.TECHNICIAN_RESOURCE_ID)
            return public("Tickets", rec)

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            return {
                "requests_by_endpoint": dict(self._by_endpoint),
                "requests_by_database": dict(self._by_db),
                "max_concurrency": {f"{code}|{entity}": n for (_, code, entity), n in self._max_seen.items()},
                "max_concurrency_by_database": {
                    f"{db}|{code}|{ent}": n for (db, code, ent), n in self._max_seen.items()
                },
                "thread_limit_errors": self._thread_limit_errors,
                "faults_injected": dict(self._faults_injected),
            }

    def request_count(self, endpoint: str) -> int:
        """E.g. `request_count("POST /V1.0/Tickets")`."""
        with self._stats_lock:
            return self._by_endpoint.get(endpoint, 0)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no API request is being handled (e.g. after a client timed out on a slow one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._stats_lock:
                if not any(n > 0 for n in self._inflight.values()):
                    return True
            time.sleep(0.01)
        return False

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._by_endpoint.clear()
            self._by_db.clear()
            self._max_seen.clear()
            self._thread_limit_errors = 0
            self._faults_injected.clear()

    def reset(self) -> None:
        """Back to the seed: data, faults, callouts, limits, counters, deliveries."""
        with self.world.lock:
            self.world.seed()
            for db in self.world.databases.values():
                db.hourly_limit = self._hourly_default
        self.reset_stats()
        self.notifier.deliveries.clear()

    def deliveries(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """Callout and webhook deliveries made so far (optionally waiting up to `wait` s for pending ones)."""
        if wait:
            self.notifier.wait_idle(wait)
        return list(self.notifier.deliveries)

    # ------------------------------------------------------------------------ request plumbing

    def _count(self, endpoint: str, database: str | None) -> None:
        with self._stats_lock:
            self._by_endpoint[endpoint] += 1
            if database:
                self._by_db[database] += 1

    def _enter(self, key: tuple[str, str, str]) -> bool:
        with self._stats_lock:
            if self._inflight[key] >= self.thread_limit:
                self._thread_limit_errors += 1
                return False
            self._inflight[key] += 1
            self._max_seen[key] = max(self._max_seen[key], self._inflight[key])
            return True

    def _leave(self, key: tuple[str, str, str]) -> None:
        with self._stats_lock:
            self._inflight[key] -= 1

    def _fault(self, db: Database, entity: str, method: str, write: bool) -> tuple[str | None, float]:
        """Decide injected behaviour for one request: (kind or None, extra latency seconds)."""
        with self.world.lock:
            f = db.faults
            latency = f.latency_ms / 1000.0 if f.applies(entity, method) else 0.0
            if not f.applies(entity, method):
                return None, 0.0
            if f.outage_until is not None and time.time() < f.outage_until:
                return "outage", latency
            for kind, rate in (
                ("throttle", f.throttle_rate),
                ("thread_limit", f.thread_limit_rate),
                ("error", f.error_rate),
                ("denied", f.permission_denied_rate),
                ("drop", f.drop_after_commit_rate if write else 0.0),
            ):
                if rate > 0 and self._rand.random() < rate and f.take():
                    with self._stats_lock:
                        self._faults_injected[kind] += 1
                    return kind, latency
            return None, latency

    def _hourly(self, db: Database) -> float:
        """Record one request against the rolling hour; raise when blocked; return added latency."""
        with self.world.lock:
            now = time.time()
            q = db.request_times
            while q and q[0] <= now - 3600:
                q.popleft()
            if len(q) >= db.hourly_limit:
                wait = max(1.0, q[0] + 3600 - now)
                raise SimError(
                    429,
                    f"The request threshold of {db.hourly_limit} requests per hour has been exceeded for this database. "
                    "API access is suspended until usage falls below the threshold.",
                    headers={"Retry-After": str(int(wait))},
                )
            q.append(now)
            usage = len(q) / max(1, db.hourly_limit)
        if usage >= 0.75:
            return self.latency_tiers[1]
        if usage >= 0.5:
            return self.latency_tiers[0]
        return 0.0

    def threshold_info(self, db: Database) -> dict[str, Any]:
        with self.world.lock:
            now = time.time()
            used = sum(1 for t in db.request_times if t > now - 3600)
            return {
                "externalRequestThreshold": db.hourly_limit,
                "requestThresholdTimeframe": 60,
                "currentTimeframeRequestCount": used,
            }


def _page_url(base: str, entity: str, body: Any, last_id: int, page_size: int, method: str) -> str:
    page: dict[str, Any] = {"pageSize": page_size, "previousIds": [], "nextIds": [last_id]}
    if method == "GET":
        page["method"] = "GET"
    paging = json.dumps(page, separators=(",", ":"))
    search = json.dumps(body, separators=(",", ":"))
    return f"{base}/ATServicesRest/V1.0/{entity}/query/next?paging={quote(paging)}&search={quote(search)}"


class _Handler(BaseHTTPRequestHandler):
    simulator: AutotaskSimulator
    protocol_version = "HTTP/1.0"
    server_version = "AutotaskSimulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet; stats are in /_sim/stats
        return

    # ---------------------------------------------------------------------------------- verbs

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -------------------------------------------------------------------------------- plumbing

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        # Read an unread (bounded) body first, so a client still sending it sees the answer, not a reset.
        length = self._length()
        if not getattr(self, "_consumed", False) and 0 < length <= MAX_BODY:
            self._consumed = True
            with contextlib.suppress(OSError):
                self.rfile.read(length)
        try:
            self._send_unsafe(status, body, headers)
        except OSError:  # the client gave up (timeout) or reset: nothing to answer
            self.close_connection = True

    def _send_unsafe(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if raw:
            self.wfile.write(raw)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _length(self) -> int:
        try:
            return max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            return 0

    def _body(self) -> Any:
        length = self._length()
        if length > MAX_BODY:
            raise _Reply(413, {"errors": ["The request body is too large."]})
        self._consumed = True
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise SimError(500, "The request body is not valid JSON.") from None

    def _handle(self, method: str) -> None:
        self._consumed = False
        sim = self.simulator
        parts = urlsplit(self.path)
        segs = [s for s in parts.path.split("/") if s]
        query = parse_qs(parts.query)
        try:
            if segs and segs[0] == "_sim":
                self._control(method, segs[1:], query)
                return
            if not segs or segs[0].lower() != "atservicesrest":
                raise _Reply(404, {"Message": "No HTTP resource was found that matches the request URI."})
            self._api(method, segs[1:], query)
        except _Dropped:
            self._drop()
        except _Reply as r:
            self._send(r.status, r.body, r.headers)
        except SimError as err:
            self._send(err.status, {"errors": err.messages}, err.headers)
        except (KeyError, ValueError) as err:
            if segs and segs[0] == "_sim":
                self._send(400, {"error": str(err)})
            else:
                self._send(500, {"errors": [f"An unexpected error has occurred: {type(err).__name__}"]})
        except (BrokenPipeError, ConnectionResetError):
            pass
        del sim

    # ------------------------------------------------------------------------------ Autotask API

    def _api(self, method: str, segs: list[str], query: dict[str, list[str]]) -> None:
        sim = self.simulator
        low = [s.lower() for s in segs]
        if low == ["versioninformation"] and method == "GET":
            sim._count("GET /VersionInformation", None)
            raise _Reply(200, {"apiVersions": ["1.0"]})
        if not low or low[0] != "v1.0":
            raise _Reply(404, {"Message": "No HTTP resource was found that matches the request URI."})
        rest, rest_low = segs[1:], low[1:]
        if rest_low == ["zoneinformation"] and method == "GET":
            sim._count("GET /V1.0/ZoneInformation", None)
            user = (query.get("user") or [""])[0]
            with sim.world.lock:
                db = sim.world.db_for_user(user) if user else None
            if db is None:
                raise SimError(500, ZONE_TEXT)
            raise _Reply(
                200,
                {"zoneName": "Simulator Zone", "url": sim.zone_url, "webUrl": sim.base_url + "/", "ci": db.tenant.ci},
            )
        route, entity = self._route(method, rest, rest_low)
        endpoint = f"{method} /V1.0/{route}"
        # Authentication (research section 2): 401 for user/secret, 500 for the integration code.
        user = self.headers.get("UserName") or ""
        secret = self.headers.get("Secret") or ""
        code = self.headers.get("ApiIntegrationCode") or ""
        with sim.world.lock:
            db = sim.world.db_for_user(user) if user else None
        if db is None or not hmac.compare_digest(secret.encode(), db.users[user.strip().lower()].encode()):
            sim._count(endpoint, None)
            raise _Reply(401, {"Message": "Authorization has been denied for this request."})
        if code not in db.integration_codes:
            sim._count(endpoint, db.tenant.database)
            raise SimError(500, INTEGRATION_CODE_TEXT)
        sim._count(endpoint, db.tenant.database)
        delay = sim._hourly(db)
        write = method in ("POST", "PATCH", "PUT", "DELETE") and "/query" not in route
        kind, latency = sim._fault(db, entity, method, write)
        if kind == "outage":
            raise SimError(503, "The service is temporarily unavailable.")
        if kind == "throttle":
            with sim.world.lock:
                ra = db.faults.retry_after
            raise SimError(429, "Too many requests. Please retry later.", headers={"Retry-After": f"{ra:g}"})
        if kind == "thread_limit":
            with sim._stats_lock:
                sim._thread_limit_errors += 1
            raise SimError(429, THREAD_LIMIT_TEXT)
        if kind == "error":
            raise SimError(500, "An unexpected error has occurred. Please try again later.")
        if kind == "denied":
            raise SimError(500, PERMISSION_TEXT)
        key = (db.tenant.database, code, entity)
        if not sim._enter(key):
            raise SimError(429, THREAD_LIMIT_TEXT)
        try:
            if delay or latency:
                time.sleep(delay + latency)
            body = self._body() if method in ("POST", "PATCH", "PUT") else None
            status, answer = self._dispatch(db, method, route, rest, body, query, drop=(kind == "drop"))
        finally:
            sim._leave(key)
        raise _Reply(status, answer)

    def _route(self, method: str, rest: list[str], low: list[str]) -> tuple[str, str]:
        """Return (route template, thread-limit entity) or raise 404/405."""
        not_found = _Reply(404, {"Message": "No HTTP resource was found that matches the request URI."})
        bad_verb = _Reply(405, {"Message": f"The requested resource does not support http method '{method}'."})
        if not low:
            raise not_found
        head = low[0]
        if low == ["thresholdinformation"]:
            if method != "GET":
                raise bad_verb
            return "ThresholdInformation", "ThresholdInformation"
        if head in _WEBHOOK_BY_LOWER and len(low) >= 3 and low[2] == "fields" and low[1].isdigit() and len(low) == 3:
            ent = _WEBHOOK_BY_LOWER[head]
            if method not in ("GET", "POST"):
                raise bad_verb
            return f"{ent}/{{parentId}}/Fields", ent[:-1] + "Fields"
        if head == "tickets" and len(low) >= 3 and low[1].isdigit() and low[2] in ("notes", "attachments"):
            child = "Notes" if low[2] == "notes" else "Attachments"
            ent = "TicketNotes" if child == "Notes" else "TicketAttachments"
            if len(low) == 3 and method in ("GET", "POST"):
                return f"Tickets/{{parentId}}/{child}", ent
            if len(low) == 4 and low[3].isdigit() and method == "GET":
                return f"Tickets/{{parentId}}/{child}/{{id}}", ent
            raise bad_verb if len(low) in (3, 4) else not_found
        if head == "companies" and len(low) == 3 and low[1].isdigit() and low[2] == "contacts":
            if method != "POST":
                raise bad_verb
            return "Companies/{parentId}/Contacts", "Contacts"
        if head in _ENTITY_BY_LOWER and low[1:] == ["entityinformation"] and head != "thresholdinformation":
            if method != "GET":
                raise bad_verb
            return f"{_ENTITY_BY_LOWER[head]}/entityInformation", _ENTITY_BY_LOWER[head]
        if head in _INFO_BY_LOWER and low[1:] == ["entityinformation", "fields"]:
            if method != "GET":
                raise bad_verb
            return f"{_INFO_BY_LOWER[head]}/entityInformation/fields", _INFO_BY_LOWER[head]
        if head not in _ENTITY_BY_LOWER:
            raise not_found
        ent = _ENTITY_BY_LOWER[head]
        tail = low[1:]
        if tail in (["query"], ["query", "next"], ["query", "count"]):
            if method not in ("GET", "POST"):
                raise bad_verb
            return f"{ent}/" + "/".join(tail), ent
        if not tail:
            if ent == "Tickets" and method in ("POST", "PATCH"):
                return "Tickets", ent
            if ent in WEBHOOK_ENTITIES and method in ("POST", "PATCH"):
                return ent, ent
            raise bad_verb
        if len(tail) == 1 and tail[0].isdigit():
            if method == "GET":
                return f"{ent}/{{id}}", ent
            if method == "DELETE" and ent in WEBHOOK_ENTITIES:
                return f"{ent}/{{id}}", ent
            raise bad_verb  # e.g. PATCH /Tickets/{id} (research section 4)
        raise not_found

    def _dispatch(
        self,
        db: Database,
        method: str,
        route: str,
        rest: list[str],
        body: Any,
        query: dict[str, list[str]],
        *,
        drop: bool,
    ) -> tuple[int, Any]:
        sim = self.simulator
        world = sim.world
        entity = route.split("/")[0]
        if route == "ThresholdInformation":
            return 200, sim.threshold_info(db)
        if "/query" in route and method == "GET":
            # GET {E}/query?search=<QueryModel JSON> (research section 3)
            try:
                body = json.loads((query.get("search") or ["null"])[0])
            except ValueError:
                raise SimError(500, "The search parameter is not valid JSON.") from None
        if route.endswith("/query") or route.endswith("/query/next"):
            after: int | None = None
            if route.endswith("/next"):
                try:
                    paging = json.loads((query.get("paging") or ["{}"])[0] or "{}")
                    ids = paging.get("nextIds") or []
                    after = int(ids[-1]) if ids else None
                except (ValueError, TypeError, AttributeError):
                    raise SimError(500, "The paging parameter is not valid.") from None
                if method == "GET" and paging.get("method") != "GET":
                    # A POST query's nextPageUrl must be POSTed with the same body (research section 3).
                    raise _Reply(405, {"Message": "The requested resource does not support http method 'GET'."})
                if body is None:
                    body = json.loads((query.get("search") or ["null"])[0])
            with world.lock:
                rows, more = world.query(db, entity, body, after)
            max_records = next((v for k, v in (body or {}).items() if k.lower() == "maxrecords"), 500)
            next_url = (
                _page_url(sim.base_url, entity, body, rows[-1]["id"], max_records, method) if more and rows else None
            )
            return 200, {
                "items": rows,
                "pageDetails": {
                    "count": len(rows),
                    "requestCount": max_records,
                    "prevPageUrl": None,
                    "nextPageUrl": next_url,
                },
            }
        if route.endswith("/query/count"):
            with world.lock:
                return 200, {"queryCount": world.count(db, entity, body)}
        if route.endswith("/entityInformation"):
            with world.lock:
                return 200, {"info": {"name": entity[:-1] if entity.endswith("s") else entity, **db.access(entity)}}
        if method in ("POST", "PATCH", "PUT", "DELETE") and "/query" not in route:
            flag = {"POST": "userAccessForCreate", "DELETE": "userAccessForDelete"}.get(method, "userAccessForUpdate")
            access_entity = entity if route.count("/") == 0 else _child_entity(route)
            with world.lock:
                allowed = db.access(access_entity)[flag]
            if not allowed:
                raise SimError(500, PERMISSION_TEXT)
        if route.endswith("/entityInformation/fields"):
            return 200, {"fields": self._fields_info(db, entity)}
        if route.endswith("/{id}") and method == "GET" and route.count("/") == 1:
            item_id = int(rest[1])
            with world.lock:
                rec = db.table(entity).get(item_id)
                item = public(entity, rec) if rec is not None else None
            if item is None and sim.missing_item_404:
                raise _Reply(404, {"errors": [f"No {entity} with id {item_id}."]})
            return 200, {"item": item}
        if method == "DELETE":
            with world.lock:
                if db.table(entity).pop(int(rest[1]), None) is None:
                    raise SimError(
                        500,
                        "No message. No matching records found. The logged in Resource may not have the required "
                        "permissions to delete the data.",
                    )
            return 200, {"itemId": int(rest[1])}
        if not isinstance(body, dict) and method in ("POST", "PATCH"):
            raise SimError(500, "The request body is not valid JSON.")
        assert isinstance(body, dict) or method == "GET"
        if route == "Tickets" and method == "POST":
            with world.lock:
                rec = world.create_ticket(db, body)
                sim.notifier.ticket_created(db, rec, seed.API_RESOURCE_ID)
            return self._created(rec["id"], drop)
        if route == "Tickets" and method == "PATCH":
            with world.lock:
                rec, changed = world.update_ticket(db, body)
                sim.notifier.ticket_updated(db, rec, set(changed), seed.API_RESOURCE_ID)
            return self._created(rec["id"], drop)
        if route == "Tickets/{parentId}/Notes":
            tid = int(rest[1])
            with world.lock:
                if method == "GET":
                    notes = [public("TicketNotes", n) for n in db.table("TicketNotes").values() if n["ticketID"] == tid]
                    return 200, {"items": sorted(notes, key=lambda n: n["id"]), "pageDetails": _single_page(len(notes))}
                note = world.create_note(db, tid, body, creator=seed.API_RESOURCE_ID)
                sim.notifier.note_created(db, db.table("Tickets")[tid], note, seed.API_RESOURCE_ID)
            return self._created(note["id"], drop)
        if route == "Tickets/{parentId}/Notes/{id}":
            with world.lock:
                rec = db.table("TicketNotes").get(int(rest[3]))
                ok = rec is not None and rec["ticketID"] == int(rest[1])
                return 200, {"item": public("TicketNotes", rec) if ok and rec else None}
        if route == "Tickets/{parentId}/Attachments":
            tid = int(rest[1])
            with world.lock:
                if method == "GET":
                    rows = [
                        public("TicketAttachments", a)
                        for a in db.table("TicketAttachments").values()
                        if a["parentID"] == tid
                    ]
                    return 200, {"items": rows, "pageDetails": _single_page(len(rows))}
                rec = world.create_attachment(db, tid, body, time.time())
            return self._created(rec["id"], drop)
        if route == "Tickets/{parentId}/Attachments/{id}":
            aid = int(rest[3])
            with world.lock:
                rec = db.table("TicketAttachments").get(aid)
                if rec is None or rec["parentID"] != int(rest[1]):
                    return 200, {"items": []}
                item = public("TicketAttachments", rec)
                item["data"] = base64.b64encode(db.attachment_data[aid]).decode("ascii")
            return 200, {"items": [item]}  # research 4.5: attachment GETs answer `items`
        if route in WEBHOOK_ENTITIES and method == "POST":
            with world.lock:
                rec = world.create_webhook(db, entity, body)
            return self._created(rec["id"], drop)
        if route in WEBHOOK_ENTITIES and method == "PATCH":
            with world.lock:
                hook = db.table(entity).get(body.get("id") if isinstance(body.get("id"), int) else -1)
                if hook is None:
                    raise SimError(500, "No matching records found.")
                changes = canonicalise(entity, body)
                changes.pop("id", None)
                hook.update(changes)
            return self._created(hook["id"], drop)
        if route.endswith("/{parentId}/Fields"):
            wid = int(rest[1])
            with world.lock:
                if method == "GET":
                    fe = entity[:-1] + "Fields"
                    rows = [public(fe, f) for f in db.table(fe).values() if f["webhookID"] == wid]
                    return 200, {"items": rows, "pageDetails": _single_page(len(rows))}
                rec = world.create_webhook_field(db, entity, wid, body)
            return self._created(rec["id"], drop)
        if route == "Companies/{parentId}/Contacts":
            with world.lock:
                fields_ = canonicalise("Contacts", body)
                company = int(rest[1])
                if company not in db.table("Companies"):
                    raise SimError(500, "Value does not reference an existing entity for companyID . ")
                for name in ("firstName", "lastName"):
                    if not fields_.get(name):
                        raise SimError(500, f"{name} is required.")
                cid = world.next_id()
                db.table("Contacts")[cid] = {"isActive": 1, **fields_, "id": cid, "companyID": company}
            return self._created(cid, drop)
        raise _Reply(404, {"Message": "No HTTP resource was found that matches the request URI."})

    def _created(self, item_id: int, drop: bool) -> tuple[int, Any]:
        if drop:
            raise _Dropped()  # committed above; the caller never sees the answer
        return 200, {"itemId": item_id}

    def _fields_info(self, db: Database, entity: str) -> list[dict[str, Any]]:
        with self.simulator.world.lock:
            if entity == "Tickets":
                p = db.ticket_picklists
                infos = [
                    _field_info("id", "long", required=True, read_only=True),
                    _field_info("title", "string", required=True),
                    _field_info("description", "string"),
                    _field_info("companyID", "integer", required=True),
                    _field_info("contactID", "integer"),
                    _field_info("configurationItemID", "integer"),
                    _field_info("billingCodeID", "integer"),
                    _field_info("externalID", "string"),
                    _field_info("ticketNumber", "string", read_only=True),
                    _field_info("createDate", "datetime", read_only=True),
                    _field_info("lastActivityDate", "datetime", read_only=True),
                    _field_info("dueDateTime", "datetime"),
                    _field_info("assignedResourceID", "integer"),
                ]
                for name in ("status", "priority"):
                    infos.append(_picklist_info(name, p[name], required=True))
                for name in ("queueID", "issueType", "source", "ticketType", "ticketCategory"):
                    infos.append(_picklist_info(name, p[name]))
                infos.append(_picklist_info("subIssueType", p["subIssueType"], parent="IssueType"))
                return copy.deepcopy(infos)
            if entity == "TicketNotes":
                p = db.note_picklists
                infos = [
                    _field_info("id", "long", required=True, read_only=True),
                    _field_info("ticketID", "integer", required=True),
                    _field_info("title", "string"),
                    _field_info("description", "string", required=True),
                    _picklist_info("noteType", p["noteType"], required=True),
                    _picklist_info("publish", p["publish"], required=True),
                ]
                return copy.deepcopy(infos)
            ids = seed.TICKET_WEBHOOK_FIELDS if entity == "TicketWebhookFields" else seed.NOTE_WEBHOOK_FIELDS
            values = [seed.pv(v, k) for k, v in ids.items()]
            return [
                _field_info("id", "long", required=True, read_only=True),
                _field_info("webhookID", "integer", required=True),
                _picklist_info("fieldID", values, required=True),
                _field_info("isSubscribedField", "boolean"),
                _field_info("isDisplayAlwaysField", "boolean"),
            ]

    # ------------------------------------------------------------------------------ control API

    def _control(self, method: str, segs: list[str], query: dict[str, list[str]]) -> None:
        sim = self.simulator
        body = self._body() if method in ("POST", "PUT", "PATCH") else None
        body = body if isinstance(body, dict) else {}
        if segs == ["stats"] and method == "GET":
            raise _Reply(200, sim.stats())
        if segs == ["reset"] and method == "POST":
            sim.reset()
            raise _Reply(200, {"ok": True})
        if segs == ["reset-stats"] and method == "POST":
            sim.reset_stats()
            raise _Reply(200, {"ok": True})
        if segs == ["deliveries"] and method == "GET":
            raise _Reply(200, {"deliveries": sim.deliveries(wait=float((query.get("wait") or ["0"])[0]))})
        if segs == ["tenants"] and method == "GET":
            with sim.world.lock:
                raise _Reply(
                    200,
                    {
                        "tenants": [
                            {"database": db.tenant.database, "ci": db.tenant.ci, "username": db.tenant.username}
                            for db in sim.world.databases.values()
                        ]
                    },
                )
        if len(segs) == 3 and segs[0] == "tenants":
            db_name, what = segs[1], segs[2]
            if what == "faults" and method == "POST":
                raise _Reply(200, {"faults": sim.set_faults(db_name, **body)})
            if what == "faults" and method == "DELETE":
                sim.clear_faults(db_name)
                raise _Reply(200, {"ok": True})
            if what == "tickets" and method == "GET":
                raise _Reply(200, {"tickets": sim.tickets(db_name)})
            if what == "callouts" and method == "POST":
                sim.register_callout(db_name, str(body["url"]))
                raise _Reply(200, {"ok": True})
            if what == "callouts" and method == "DELETE":
                sim.clear_callouts(db_name)
                raise _Reply(200, {"ok": True})
            if what == "hourly-limit" and method == "POST":
                sim.set_hourly_limit(db_name, int(body["limit"]))
                raise _Reply(200, {"ok": True})
            if what == "category-required" and method == "POST":
                sim.set_category_required(db_name, int(body["category"]), [str(f) for f in body["fields"]])
                raise _Reply(200, {"ok": True})
        if (
            len(segs) == 5
            and segs[0] == "tenants"
            and segs[2] == "picklists"
            and segs[4] == "default"
            and method == "PUT"
        ):
            label = body.get("label")
            sim.set_picklist_default(segs[1], segs[3], None if label is None else str(label))
            raise _Reply(200, {"ok": True})
        if len(segs) == 3 and segs[0] == "tickets" and segs[2] == "technician" and method == "POST":
            ticket = sim.technician(
                int(segs[1]),
                status=body.get("status"),
                note=body.get("note"),
                note_title=str(body.get("title") or "Technician update"),
                publish=int(body.get("publish") or 1),
            )
            raise _Reply(200, {"ticket": ticket})
        raise _Reply(404, {"error": "unknown control route"})


def _child_entity(route: str) -> str:
    parts = route.split("/")
    if parts[0] == "Tickets" and len(parts) > 2:
        return "TicketNotes" if parts[2] == "Notes" else "TicketAttachments"
    if parts[0] in WEBHOOK_ENTITIES and len(parts) > 2 and parts[2] == "Fields":
        return parts[0][:-1] + "Fields"
    if parts[0] == "Companies" and len(parts) > 2:
        return "Contacts"
    return parts[0]


def _single_page(n: int) -> dict[str, Any]:
    return {"count": n, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}
