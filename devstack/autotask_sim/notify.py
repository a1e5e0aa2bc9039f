"""Outbound notifications the simulator fires, like Autotask's workflow rules and REST webhooks.

- Extension Callouts (research-autotask-api.md section 7): `POST <url>` form-encoded
  `id, number, status (label), created_datetime, last_activity_datetime`, on ticket create/update and note creation.
- Webhooks (`TicketWebhooks` / `TicketNoteWebhooks`): JSON `{Action, Guid, EntityType, Id, Fields, EventTime,
  SequenceNumber, PersonID}`, signed `X-Hook-Signature: sha1=<base64 HMAC-SHA1(secretKey, raw body)>`
  (Autotask Developer Help, "Secret key and payload verification").

Delivery is asynchronous (a small thread pool) with bounded timeouts; every attempt is recorded for tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests

from devstack.autotask_sim import seed
from devstack.autotask_sim.store import Database, parse_dt


def sign(secret_key: str, body: bytes) -> str:
    digest = hmac.new(secret_key.encode("utf-8"), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(digest).decode("ascii")


def callout_datetime(iso: str | None) -> str:
    """Autotask's odd callout format, e.g. `2019-10-29T14:14:47.64300000-04:00:00` (here always UTC)."""
    dt = parse_dt(iso or "") or datetime.now(UTC)
    dt = dt.astimezone(UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond:06d}00+00:00:00"


class Notifier:
    def __init__(self, *, max_workers: int = 4, timeout: tuple[float, float] = (2.0, 5.0)) -> None:
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="autotask-sim-notify")
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()
        self._seq = itertools.count(1)
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=2000)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._lock:
            pending = set(self._pending)
        if not pending:
            return True
        _done, not_done = wait(pending, timeout=timeout)
        return not not_done

    def _submit(self, kind: str, url: str, body: bytes, headers: dict[str, str]) -> None:
        def deliver() -> None:
            record: dict[str, Any] = {
                "kind": kind,
                "url": url,
                "body": body.decode("utf-8"),
                "headers": headers,
                "status": None,
                "error": None,
                "at": datetime.now(UTC).isoformat(),
            }
            try:
                resp = requests.post(url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False)
                record["status"] = resp.status_code
            except requests.RequestException as exc:
                record["error"] = type(exc).__name__
            with self._lock:
                self.deliveries.append(record)

        fut = self._pool.submit(deliver)
        with self._lock:
            self._pending.add(fut)
        fut.add_done_callback(lambda f: self._discard(f))

    def _discard(self, fut: Future[None]) -> None:
        with self._lock:
            self._pending.discard(fut)

    # ------------------------------------------------------------------------------------ events

    def _callouts(self, db: Database, ticket: dict[str, Any]) -> None:
        label = next(
            (v["label"] for v in db.ticket_picklists["status"] if v["value"] == str(ticket.get("status"))),
            str(ticket.get("status")),
        )
        form = urlencode(
            {
                "id": ticket["id"],
                "number": ticket.get("ticketNumber") or "",
                "status": label,
                "created_datetime": callout_datetime(ticket.get("createDate")),
                "last_activity_datetime": callout_datetime(ticket.get("lastActivityDate")),
            }
        ).encode("ascii")
        for url in list(db.callouts):
            self._submit("callout", url, form, {"Content-Type": "application/x-www-form-urlencoded"})

    def _webhooks(
        self,
        db: Database,
        entity: str,
        entity_type: str,
        action: str,
        record: dict[str, Any],
        changed: set[str] | None,
        person_id: int | None,
    ) -> None:
        field_entity = "TicketWebhookFields" if entity == "TicketWebhooks" else "TicketNoteWebhookFields"
        ids = seed.TICKET_WEBHOOK_FIELDS if entity == "TicketWebhooks" else seed.NOTE_WEBHOOK_FIELDS
        names = {v: k for k, v in ids.items()}
        for hook in list(db.table(entity).values()):
            if not (hook.get("isActive") and hook.get("isReady")):
                continue
            if not hook.get(f"isSubscribedTo{action}Events"):
                continue
            rows = [f for f in db.table(field_entity).values() if f.get("webhookID") == hook["id"]]
            subscribed = {names[r["fieldID"]] for r in rows if r.get("isSubscribedField") and r["fieldID"] in names}
            always = {names[r["fieldID"]] for r in rows if r.get("isDisplayAlwaysField") and r["fieldID"] in names}
            if action == "Update":
                hits = subscribed & (changed or set())
                if not hits:
                    continue
                shown = hits | always
            else:
                shown = subscribed | always
            payload = {
                "Action": action,
                "Guid": hook["webhookGUID"],
                "EntityType": entity_type,
                "Id": record["id"],
                "Fields": {n: record.get(n) for n in sorted(shown)},
                "EventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "SequenceNumber": next(self._seq),
                "PersonID": person_id,
            }
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            headers = {"Content-Type": "application/json", "X-Hook-Signature": sign(str(hook["secretKey"]), body)}
            self._submit("webhook", str(hook["webhookUrl"]), body, headers)

    def ticket_created(self, db: Database, ticket: dict[str, Any], person_id: int | None) -> None:
        self._callouts(db, ticket)
        self._webhooks(db, "TicketWebhooks", "Ticket", "Create", ticket, None, person_id)

    def ticket_updated(self, db: Database, ticket: dict[str, Any], changed: set[str], person_id: int | None) -> None:
        if not changed:
            return
        self._callouts(db, ticket)
        self._webhooks(db, "TicketWebhooks", "Ticket", "Update", ticket, changed, person_id)

    def note_created(self, db: Database, ticket: dict[str, Any], note: dict[str, Any], person_id: int | None) -> None:
        self._callouts(db, ticket)
        self._webhooks(db, "TicketNoteWebhooks", "TicketNote", "Create", note, None, person_id)
