"""State of the simulated Autotask databases: records, picklists, filters, validation, limits, faults.

Shapes and error texts follow research-autotask-api.md; where Autotask's exact text is unknown ([I] there),
the simulator uses a plausible message containing the words real clients key on (documented in docs/autotask.md).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devstack.autotask_sim import seed
from devstack.autotask_sim.catalogue import ENTITY_FIELDS

THREAD_LIMIT = 3
HOURLY_LIMIT = 10_000
MAX_ATTACHMENT_BYTES = 6 * 1024 * 1024
ATTACHMENT_WINDOW_BYTES = 10_000_000
ATTACHMENT_WINDOW_SECONDS = 300.0
MAX_RECORDS = 500

THREAD_LIMIT_TEXT = "Thread Threshold Exceeded — The Autotask API thread threshold of 3 threads has been exceeded."
INTEGRATION_CODE_TEXT = "IntegrationCode is invalid."
ZONE_TEXT = "Zone information could not be determined"
MAX_RECORDS_TEXT = "maxCountOfRecordsToReturn must be between 1 and 500"
PERMISSION_TEXT = "The logged in Resource does not have the adequate permissions to perform this action."


class SimError(Exception):
    """An Autotask-shaped error answer: `{"errors": [...]}` with a status (Autotask favours 500)."""

    def __init__(self, status: int, *messages: str, headers: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.messages = list(messages)
        self.headers = headers or {}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def parse_dt(text: str) -> datetime | None:
    if not _ISO_RE.match(text):
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass
class Faults:
    """Fault injection for one database. Rates are probabilities per request; `count` bounds how many faults
    are injected in total (None = unlimited); `entities`/`methods` restrict where they apply."""

    error_rate: float = 0.0
    latency_ms: int = 0
    throttle_rate: float = 0.0
    retry_after: float = 1.0
    thread_limit_rate: float = 0.0
    drop_after_commit_rate: float = 0.0
    permission_denied_rate: float = 0.0  # 500 "does not have the adequate permissions" (django-autotask)
    outage_until: float | None = None  # epoch seconds; every API call answers 503 until then
    count: int | None = None
    entities: list[str] | None = None
    methods: list[str] | None = None

    def applies(self, entity: str, method: str) -> bool:
        if self.entities is not None and entity.lower() not in {e.lower() for e in self.entities}:
            return False
        return self.methods is None or method.upper() in {m.upper() for m in self.methods}

    def take(self) -> bool:
        """Consume one injection from `count`; False when the budget is spent."""
        if self.count is None:
            return True
        if self.count <= 0:
            return False
        self.count -= 1
        return True


@dataclass
class Database:
    tenant: seed.SimTenant
    tables: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    attachment_data: dict[int, bytes] = field(default_factory=dict)
    ticket_picklists: dict[str, list[dict[str, Any]]] = field(default_factory=seed.ticket_picklists)
    note_picklists: dict[str, list[dict[str, Any]]] = field(default_factory=seed.note_picklists)
    callouts: list[str] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    hourly_limit: int = HOURLY_LIMIT
    request_times: deque[float] = field(default_factory=deque)
    attachment_bytes: deque[tuple[float, int]] = field(default_factory=deque)
    ticket_seq: Counter[str] = field(default_factory=Counter)
    users: dict[str, str] = field(default_factory=dict)  # API user name (lower case) -> secret
    integration_codes: set[str] = field(default_factory=set)
    # entity -> entityInformation flags overriding the defaults (e.g. {"userAccessForCreate": False})
    entity_access: dict[str, dict[str, bool]] = field(default_factory=dict)
    # ticketCategory value -> ticket fields that category makes required (Admin > Ticket Categories) [I: wording]
    category_required: dict[int, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.users.setdefault(self.tenant.username.lower(), self.tenant.secret)
        self.integration_codes.add(self.tenant.integration_code)

    def access(self, entity: str) -> dict[str, bool]:
        """`EntityInformationResultModel.info` flags for this API user (research section 5)."""
        writable = entity in (
            "Tickets",
            "TicketNotes",
            "TicketAttachments",
            "TicketWebhooks",
            "TicketNoteWebhooks",
            "TicketWebhookFields",
            "TicketNoteWebhookFields",
            "Companies",
            "Contacts",
        )
        info = {
            "canCreate": writable,
            "canDelete": entity in ("TicketWebhooks", "TicketNoteWebhooks", "TicketAttachments"),
            "canQuery": True,
            "canUpdate": writable,
            "hasUserDefinedFields": entity in ("Tickets", "Contacts", "Companies", "ConfigurationItems"),
            "supportsWebhookCallouts": entity
            in ("Tickets", "TicketNotes", "Contacts", "Companies", "ConfigurationItems"),
            "userAccessForCreate": writable,
            "userAccessForDelete": True,
            "userAccessForQuery": True,
            "userAccessForUpdate": writable,
        }
        info.update(self.entity_access.get(entity, {}))
        return info

    def table(self, entity: str) -> dict[int, dict[str, Any]]:
        return self.tables.setdefault(entity, {})


def canonical_fields(entity: str) -> dict[str, str]:
    """lower-case -> Swagger spelling, for case-insensitive field names (research section 3)."""
    return {f.lower(): f for f in ENTITY_FIELDS[entity][1]}


def canonicalise(entity: str, body: dict[str, Any]) -> dict[str, Any]:
    canon = canonical_fields(entity)
    out: dict[str, Any] = {}
    unknown = []
    for k, v in body.items():
        name = canon.get(str(k).lower())
        if name is None:
            unknown.append(str(k))
        else:
            out[name] = v
    if unknown:
        raise SimError(500, *(f"Unknown field '{u}' on entity {entity}." for u in unknown[:10]))
    return out


def public(entity: str, rec: dict[str, Any]) -> dict[str, Any]:
    """A record as Autotask returns it: every model field present (null when unset); secrets omitted."""
    out = {f: rec.get(f) for f in ENTITY_FIELDS[entity][1]}
    if "userDefinedFields" in out and out["userDefinedFields"] is None:
        out["userDefinedFields"] = []
    out.pop("data", None)
    if "secretKey" in out:
        out["secretKey"] = None
    return out


# ------------------------------------------------------------------------------------------ filters


_OPS = {
    "eq",
    "noteq",
    "gt",
    "gte",
    "lt",
    "lte",
    "beginswith",
    "endswith",
    "contains",
    "exist",
    "notexist",
    "in",
    "notin",
    "and",
    "or",
}


def _ci(d: dict[str, Any], key: str, default: Any = None) -> Any:
    for k, v in d.items():
        if str(k).lower() == key:
            return v
    return default


def _norm_pair(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, (bool, int)) and isinstance(b, (bool, int)):
            return int(a), int(b)
        if isinstance(b, str) and b.lower() in ("true", "false"):
            return int(bool(a)), int(b.lower() == "true")
    if isinstance(a, (int, float)) and isinstance(b, str):
        try:
            return a, float(b)
        except ValueError:
            return str(a), b.casefold()
    if isinstance(a, str) and isinstance(b, (int, float)) and not isinstance(b, bool):
        try:
            return float(a), b
        except ValueError:
            return a.casefold(), str(b)
    if isinstance(a, str) and isinstance(b, str):
        da, db = parse_dt(a), parse_dt(b)
        if da is not None and db is not None:
            return da, db
        return a.casefold(), b.casefold()
    return a, b


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "exist":
        return a is not None and a != ""
    if op == "notexist":
        return a is None or a == ""
    if op in ("in", "notin"):
        if not isinstance(b, list):
            raise SimError(500, f"The '{op}' operator requires an array value.")
        hit = a is not None and any(_compare("eq", a, x) for x in b)
        return hit if op == "in" else not hit
    if a is None:
        return op == "noteq" and b is not None
    x, y = _norm_pair(a, b)
    try:
        if op == "eq":
            return bool(x == y)
        if op == "noteq":
            return bool(x != y)
        if op == "gt":
            return bool(x > y)
        if op == "gte":
            return bool(x >= y)
        if op == "lt":
            return bool(x < y)
        if op == "lte":
            return bool(x <= y)
    except TypeError:
        return False
    sx, sy = str(a).casefold(), str(b).casefold()
    if op == "beginswith":
        return sx.startswith(sy)
    if op == "endswith":
        return sx.endswith(sy)
    if op == "contains":
        return sy in sx
    raise SimError(500, f"Invalid operator: {op}")


def compile_filter(entity: str, flt: Any, depth: int = 0) -> Any:
    """Validate a filter tree (field names, operators, booleans) and return a predicate."""
    if depth > 10 or not isinstance(flt, dict):
        raise SimError(500, "Invalid filter expression.")
    op = str(_ci(flt, "op", "")).lower()
    if op not in _OPS:
        raise SimError(500, f"Invalid operator: {_ci(flt, 'op')}")
    if op in ("and", "or"):
        items = _ci(flt, "items")
        if not isinstance(items, list) or not items:
            raise SimError(500, f"The '{op}' operator requires items.")
        if len(items) > 500:
            raise SimError(500, "A query may contain at most 500 OR conditions.")
        preds = [compile_filter(entity, i, depth + 1) for i in items]
        if op == "and":
            return lambda r: all(p(r) for p in preds)
        return lambda r: any(p(r) for p in preds)
    name = str(_ci(flt, "field", ""))
    canon = canonical_fields(entity).get(name.lower())
    if canon is None:
        raise SimError(500, f"Unable to find {name} in the {entity} entity.")
    value = _ci(flt, "value")
    if op not in ("exist", "notexist") and value is None:
        raise SimError(500, f"A value is required for the '{op}' filter on {canon}.")
    return lambda r: _compare(op, r.get(canon), value)


# ------------------------------------------------------------------------------------- the world


class World:
    """All databases plus global counters. Every method is called with `self.lock` held by the caller
    unless it says otherwise."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.ids = itertools.count(29690001)
        self.databases: dict[str, Database] = {}
        self.seed()

    def seed(self) -> None:
        self.databases = {}
        for tenant in seed.TENANTS:
            self.add_database(tenant)

    def add_database(self, tenant: seed.SimTenant) -> Database:
        """A database with the seed data (companies, contacts, CIs, work types, picklists) for this API user."""
        if tenant.database in self.databases:
            raise ValueError(f"database {tenant.database!r} exists")
        db = Database(tenant=tenant)
        for rec in seed.companies():
            db.table("Companies")[rec["id"]] = rec
        for rec in seed.contacts():
            db.table("Contacts")[rec["id"]] = rec
        for rec in seed.configuration_items():
            db.table("ConfigurationItems")[rec["id"]] = rec
        for rec in seed.billing_codes():
            db.table("BillingCodes")[rec["id"]] = rec
        self.databases[tenant.database] = db
        return db

    def next_id(self) -> int:
        return next(self.ids)

    def db_for_user(self, username: str) -> Database | None:
        low = username.strip().lower()
        for db in self.databases.values():
            if low in db.users:
                return db
        return None

    def find_ticket(self, ticket_id: int) -> tuple[Database, dict[str, Any]] | None:
        for db in self.databases.values():
            rec = db.table("Tickets").get(ticket_id)
            if rec is not None:
                return db, rec
        return None

    # ----------------------------------------------------------------------------------- queries

    def query(self, db: Database, entity: str, body: Any, after_id: int | None) -> tuple[list[dict[str, Any]], bool]:
        """Evaluate a QueryModel body; returns (page rows, more pages exist)."""
        if not isinstance(body, dict):
            raise SimError(500, "The query body is not valid JSON.")
        filters = _ci(body, "filter")
        if not isinstance(filters, list) or not filters:
            raise SimError(500, "A query requires at least one filter.")
        max_records = _ci(body, "maxrecords")
        if max_records is None:
            max_records = MAX_RECORDS
        if isinstance(max_records, bool) or not isinstance(max_records, int) or not 1 <= max_records <= MAX_RECORDS:
            raise SimError(500, MAX_RECORDS_TEXT)
        include = _ci(body, "includefields") or []
        if not isinstance(include, list):
            raise SimError(500, "IncludeFields must be an array.")
        canon = canonical_fields(entity)
        include_c = []
        for name in include:
            c = canon.get(str(name).lower())
            if c is None:
                raise SimError(500, f"Unable to find {name} in the {entity} entity.")
            include_c.append(c)
        preds = [compile_filter(entity, f) for f in filters]
        if not db.access(entity)["userAccessForQuery"]:
            # "the API user with a restricted license would receive no response ... even though the data exists"
            return [], False
        rows = sorted(
            (r for r in db.table(entity).values() if all(p(r) for p in preds)),
            key=lambda r: int(r.get("id") or 0),
        )
        if after_id is not None:
            rows = [r for r in rows if int(r["id"]) > after_id]
        if include_c and "id" not in include_c and len(rows) > max_records:
            raise SimError(
                500, "For search results that contain more than 500 results, you must include Id as a field."
            )
        page = rows[:max_records]
        more = len(rows) > max_records
        out = []
        for r in page:
            full = public(entity, r)
            out.append({k: full[k] for k in include_c} if include_c else full)
        return out, more

    def count(self, db: Database, entity: str, body: Any) -> int:
        filters = _ci(body, "filter") if isinstance(body, dict) else None
        if not isinstance(filters, list) or not filters:
            raise SimError(500, "A query requires at least one filter.")
        preds = [compile_filter(entity, f) for f in filters]
        return sum(1 for r in db.table(entity).values() if all(p(r) for p in preds))

    # ------------------------------------------------------------------------------- validation

    def _check_picklist(
        self, lists: dict[str, list[dict[str, Any]]], name: str, value: Any, parent: Any = None
    ) -> None:
        if value is None:
            return
        values = lists.get(name, [])
        for v in values:
            if v["value"] == str(value) and v["isActive"]:
                if parent is not None and v["parentValue"] != str(parent):
                    raise SimError(500, f"{value} is not a valid value for {name} with issueType {parent}.")
                if name == "subIssueType" and parent is None:
                    raise SimError(500, "subIssueType requires issueType.")
                return
        raise SimError(500, f"{value} is not a valid value for {name}.")

    def _check_reference(self, db: Database, entity: str, name: str, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise SimError(500, f"Value does not reference an existing entity for {name} . ")
        rec = db.table(entity).get(value)
        if rec is None:
            raise SimError(500, f"Value does not reference an existing entity for {name} . ")
        return rec

    def validate_ticket(self, db: Database, t: dict[str, Any]) -> None:
        missing = [f for f in ("companyID", "priority", "status", "title") if t.get(f) in (None, "")]
        if missing:
            raise SimError(500, *(f"{f} is required." for f in missing))
        category = t.get("ticketCategory")
        if category is None:  # Autotask applies the default category, and with it its required fields
            category = next(
                (int(v["value"]) for v in db.ticket_picklists.get("ticketCategory", []) if v["isDefaultValue"]), None
            )
        by_category = [f for f in db.category_required.get(category, []) if t.get(f) in (None, "")] if category else []
        if by_category:
            raise SimError(500, *(f"{f} is required for this ticket category." for f in by_category))
        if not isinstance(t["title"], str) or len(t["title"]) > 255:
            raise SimError(500, "title exceeds the maximum length of 255.")
        if t.get("description") is not None and (not isinstance(t["description"], str) or len(t["description"]) > 8000):
            raise SimError(500, "description exceeds the maximum length of 8000.")
        if t.get("externalID") is not None and (not isinstance(t["externalID"], str) or len(t["externalID"]) > 50):
            raise SimError(500, "externalID exceeds the maximum length of 50.")
        for name in ("status", "priority", "queueID", "issueType", "source", "ticketType", "ticketCategory"):
            value = t.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise SimError(500, f"{value!r} is not a valid value for {name}.")
            self._check_picklist(db.ticket_picklists, name, value)
        if t.get("subIssueType") is not None:
            self._check_picklist(db.ticket_picklists, "subIssueType", t["subIssueType"], t.get("issueType"))
        company = self._check_reference(db, "Companies", "companyID", t["companyID"])
        contact = self._check_reference(db, "Contacts", "contactID", t.get("contactID"))
        if contact is not None and company is not None and contact.get("companyID") != company["id"]:
            raise SimError(500, "contactID must be a contact of the ticket's companyID.")
        ci = self._check_reference(db, "ConfigurationItems", "configurationItemID", t.get("configurationItemID"))
        if ci is not None and company is not None and ci.get("companyID") != company["id"]:
            raise SimError(500, "configurationItemID must be a configuration item of the ticket's companyID.")
        code = self._check_reference(db, "BillingCodes", "billingCodeID", t.get("billingCodeID"))
        if code is not None and not code.get("isActive"):
            raise SimError(500, f"{code['id']} is not a valid value for billingCodeID (inactive).")

    # ----------------------------------------------------------------------------------- writes

    READ_ONLY_TICKET = ("id", "ticketNumber", "createDate", "lastActivityDate", "creatorResourceID")

    def create_ticket(self, db: Database, body: dict[str, Any]) -> dict[str, Any]:
        fields = canonicalise("Tickets", body)
        for k in self.READ_ONLY_TICKET:
            fields.pop(k, None)
        self.validate_ticket(db, fields)
        now = datetime.now(UTC)
        day = now.strftime("%Y%m%d")
        db.ticket_seq[day] += 1
        tid = self.next_id()
        stamp = now_iso()
        rec = {
            **fields,
            "id": tid,
            "ticketNumber": f"T{day}.{db.ticket_seq[day]:04d}",
            "createDate": stamp,
            "lastActivityDate": stamp,
            "creatorResourceID": None,
            "creatorType": 2,  # API [I]
        }
        if rec.get("status") == seed.STATUS["Complete"]:
            rec["completedDate"] = stamp
        db.table("Tickets")[tid] = rec
        return rec

    def update_ticket(self, db: Database, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Returns (ticket, changed fields)."""
        fields = canonicalise("Tickets", body)
        tid = fields.pop("id", None)
        if isinstance(tid, bool) or not isinstance(tid, int):
            raise SimError(500, "id is required.")
        rec = db.table("Tickets").get(tid)
        if rec is None:
            raise SimError(
                500,
                "No matching records found. The logged in Resource may not have the required permissions to update the data.",
            )
        for k in self.READ_ONLY_TICKET:
            fields.pop(k, None)
        merged = {**rec, **fields}
        self.validate_ticket(db, merged)
        changed = {k: v for k, v in fields.items() if rec.get(k) != v}
        if changed:
            merged["lastActivityDate"] = now_iso()
            if changed.get("status") == seed.STATUS["Complete"]:
                merged["completedDate"] = merged["lastActivityDate"]
            rec.clear()
            rec.update(merged)
        return rec, changed

    def create_note(self, db: Database, ticket_id: int, body: dict[str, Any], creator: int) -> dict[str, Any]:
        ticket = db.table("Tickets").get(ticket_id)
        if ticket is None:
            raise SimError(500, "Value does not reference an existing entity for ticketID . ")
        fields = canonicalise("TicketNotes", body)
        if fields.get("ticketID") not in (None, ticket_id):
            raise SimError(500, "ticketID must be the parent ticket's id.")
        if not fields.get("description"):
            raise SimError(500, "description is required.")
        if len(str(fields["description"])) > 32000:
            raise SimError(500, "description exceeds the maximum length of 32000.")
        if fields.get("title") is not None and len(str(fields["title"])) > 250:
            raise SimError(500, "title exceeds the maximum length of 250.")
        for name in ("noteType", "publish"):
            if fields.get(name) is None:
                raise SimError(500, f"{name} is required.")
            if isinstance(fields[name], bool) or not isinstance(fields[name], int):
                raise SimError(500, f"{fields[name]!r} is not a valid value for {name}.")
            self._check_picklist(db.note_picklists, name, fields[name])
        nid = self.next_id()
        stamp = now_iso()
        rec = {
            **{k: v for k, v in fields.items() if k not in ("id", "createDateTime", "lastActivityDate")},
            "id": nid,
            "ticketID": ticket_id,
            "createDateTime": stamp,
            "lastActivityDate": stamp,
            "creatorResourceID": creator,
        }
        db.table("TicketNotes")[nid] = rec
        ticket["lastActivityDate"] = stamp
        return rec

    def create_attachment(self, db: Database, ticket_id: int, body: dict[str, Any], clock: float) -> dict[str, Any]:
        if ticket_id not in db.table("Tickets"):
            raise SimError(500, "Value does not reference an existing entity for parentID . ")
        fields = canonicalise("TicketAttachments", body)
        raw = fields.get("data")
        if not isinstance(raw, str) or not raw:
            raise SimError(500, "data is required.")
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise SimError(500, "data must be base64 encoded.") from None
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise SimError(500, "The attachment exceeds the maximum file size of 6 MB.")
        if not fields.get("title"):
            raise SimError(500, "title is required.")
        if str(fields.get("attachmentType") or "FILE_ATTACHMENT") != "FILE_ATTACHMENT":
            raise SimError(500, "attachmentType must be FILE_ATTACHMENT.")
        q = db.attachment_bytes
        while q and q[0][0] <= clock - ATTACHMENT_WINDOW_SECONDS:
            q.popleft()
        if sum(n for _, n in q) + len(data) > ATTACHMENT_WINDOW_BYTES:
            raise SimError(
                500,
                "Attachment creation is suspended: more than 10,000,000 bytes were attached within five minutes.",
            )
        q.append((clock, len(data)))
        aid = self.next_id()
        rec = {
            "id": aid,
            "parentID": ticket_id,
            "ticketID": ticket_id,
            "parentType": 4,  # Ticket [I]
            "attachmentType": "FILE_ATTACHMENT",
            "fullPath": fields.get("fullPath") or fields["title"],
            "title": fields["title"],
            "publish": fields.get("publish") or 1,
            "fileSize": float(len(data)),
            "contentType": _content_type(str(fields.get("fullPath") or "")),
            "attachDate": now_iso(),
        }
        db.table("TicketAttachments")[aid] = rec
        db.attachment_data[aid] = data
        db.table("Tickets")[ticket_id]["lastActivityDate"] = rec["attachDate"]
        return rec

    def create_webhook(self, db: Database, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        fields = canonicalise(entity, body)
        for name in ("name", "webhookUrl", "secretKey"):
            if not fields.get(name):
                raise SimError(500, f"{name} is required.")
        if len(str(fields["secretKey"])) > 64:
            raise SimError(500, "secretKey exceeds the maximum length of 64.")
        if not str(fields["webhookUrl"]).lower().startswith(("http://", "https://")):
            raise SimError(500, "webhookUrl must be an http(s) URL.")
        wid = self.next_id()
        rec = {
            "isActive": False,
            "isSubscribedToCreateEvents": False,
            "isSubscribedToUpdateEvents": False,
            "isSubscribedToDeleteEvents": False,
            "sendThresholdExceededNotification": False,
            **fields,
            "id": wid,
            "isReady": False,
            "webhookGUID": str(uuid.uuid4()),
            "ownerResourceID": seed.API_RESOURCE_ID,
        }
        db.table(entity)[wid] = rec
        return rec

    def create_webhook_field(self, db: Database, entity: str, webhook_id: int, body: dict[str, Any]) -> dict[str, Any]:
        hook = db.table(entity).get(webhook_id)
        if hook is None:
            raise SimError(500, "Value does not reference an existing entity for webhookID . ")
        field_entity = "TicketWebhookFields" if entity == "TicketWebhooks" else "TicketNoteWebhookFields"
        fields = canonicalise(field_entity, body)
        allowed = seed.TICKET_WEBHOOK_FIELDS if entity == "TicketWebhooks" else seed.NOTE_WEBHOOK_FIELDS
        if fields.get("fieldID") not in allowed.values():
            raise SimError(500, f"{fields.get('fieldID')} is not a valid value for fieldID.")
        fid = self.next_id()
        rec = {
            "isSubscribedField": False,
            "isDisplayAlwaysField": False,
            **fields,
            "id": fid,
            "webhookID": webhook_id,
        }
        db.table(field_entity)[fid] = rec
        if rec["isSubscribedField"]:
            hook["isReady"] = True
        return rec


def _content_type(name: str) -> str:
    low = name.lower()
    for ext, ct in ((".png", "image/png"), (".jpg", "image/jpeg"), (".jpeg", "image/jpeg"), (".txt", "text/plain")):
        if low.endswith(ext):
            return ct
    return "application/octet-stream"


def now() -> float:
    return time.time()
