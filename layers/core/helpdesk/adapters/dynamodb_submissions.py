"""DynamoDB adapter for submissions and their timelines (the SubmissionsTable).

Item layout (pk / sk), every item carries `expires_at` (epoch seconds, the table's TTL attribute):
  SUB#<tenant>#<submission id> / SUBMISSION       the Submission: one attribute `f_<field>` per top-level model
                                                  field (its JSON), plus `revision`, `status`;
                                                  gsi1pk=TENANT#<tenant>#SUBMISSIONS, gsi1sk=<created iso>#<id>
                                                  (a tenant's submissions, newest last)
  SUB#<tenant>#<submission id> / EVENT#<at iso>#<n> one timeline event (JSON in `doc`); when the submission has a
                                                  device id: gsi1pk=TENANT#<tenant>#DEVICE#<device id>,
                                                  gsi1sk=<at iso>#<submission id>#<n> (a device's feed)
  SUB#<tenant>#<submission id> / EVENTID#<event id> marks an idempotent event as stored (same transaction)
  TICKET#<tenant>#<ticket id>  / TICKET           link from an Autotask ticket back to its submission
A submission and its timeline share a partition, so the status read is one Query. The submission's TTL is
refreshed on every save ("expire N days after the last change").

Round trips (docs/performance.md): a save is one `UpdateItem` that SETs only the fields that changed since this
repository last read or wrote that revision (any field, present or added later: nothing here names them), with
the optimistic-locking condition on `revision`; events that belong to the change go into the same
`TransactWriteItems`, and so does the ticket link when the ticket id is new (or its TTL is a day behind).
Items written before this layout (the whole document as JSON in `doc`) still load: `f_` attributes override it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from helpdesk import aws
from helpdesk.domain.ports import ConflictError
from helpdesk.domain.submission import Submission, TimelineEvent
from helpdesk.domain.tenant import utcnow

_SUBMISSION = "SUBMISSION"
_EVENT = "EVENT#"
_EVENT_ID = "EVENTID#"
_FIELD = "f_"
_SEEN_MAX = 512  # submissions whose stored fields this repository remembers (per execution environment)
_LINK_REFRESH = 86400  # re-put the ticket link when its TTL would be a day behind the submission's


def submission_pk(tenant_id: str, submission_id: str) -> str:
    return f"SUB#{tenant_id}#{submission_id}"


def ticket_pk(tenant_id: str, ticket_id: int) -> str:
    return f"TICKET#{tenant_id}#{ticket_id}"


def device_feed_key(tenant_id: str, device_id: str) -> str:
    """gsi1pk of the timeline events of every submission sent from one device."""
    return f"TENANT#{tenant_id}#DEVICE#{device_id}"


def sortable(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(int(value))}


def _plain(value: Mapping[str, Any]) -> Any:
    """A low-level attribute value -> str / int (the only types these items use besides the `f_` JSON texts)."""
    if "S" in value:
        return value["S"]
    if "N" in value:
        return int(value["N"]) if value["N"].lstrip("-").isdigit() else float(value["N"])
    if "BOOL" in value:
        return bool(value["BOOL"])
    return None


def field_values(submission: Submission) -> dict[str, str]:
    """Every top-level field of the submission as its JSON text (the `f_<field>` attributes)."""
    return {
        name: json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        for name, value in submission.model_dump(mode="json").items()
    }


def submission_from_item(item: Mapping[str, Any]) -> Submission:
    """A stored SUBMISSION item (low-level `{"S": ...}` values or plain ones) -> Submission."""
    plain = {k: (_plain(v) if isinstance(v, Mapping) else v) for k, v in item.items()}
    data: dict[str, Any] = json.loads(plain["doc"]) if isinstance(plain.get("doc"), str) else {}
    known = Submission.model_fields
    for key, value in plain.items():
        if key.startswith(_FIELD) and key[len(_FIELD) :] in known and isinstance(value, str):
            data[key[len(_FIELD) :]] = json.loads(value)
    return Submission.model_validate(data)


@dataclass(frozen=True)
class _Seen:
    revision: int
    fields: dict[str, str]
    expires_at: int


class DynamoSubmissionRepository:
    def __init__(self, table_name: str, *, retention_days: int = 90) -> None:
        self._table_name = table_name
        self._client = aws.client("dynamodb")
        self._retention = timedelta(days=retention_days)
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str], _Seen] = OrderedDict()

    def _expires_at(self, now: datetime | None = None) -> int:
        return int(((now or utcnow()) + self._retention).timestamp())

    def _key(self, tenant_id: str, submission_id: str) -> dict[str, Any]:
        return {"pk": _s(submission_pk(tenant_id, submission_id)), "sk": _s(_SUBMISSION)}

    def _remember(self, submission: Submission, fields: dict[str, str], expires_at: int) -> None:
        key = (submission.tenant_id, submission.submission_id)
        with self._lock:
            self._seen[key] = _Seen(submission.revision, fields, expires_at)
            self._seen.move_to_end(key)
            while len(self._seen) > _SEEN_MAX:
                self._seen.popitem(last=False)

    def _seen_at(self, submission: Submission) -> _Seen | None:
        with self._lock:
            seen = self._seen.get((submission.tenant_id, submission.submission_id))
        return seen if seen is not None and seen.revision == submission.revision else None

    # ------------------------------------------------------------------ submissions
    def _full_item(self, submission: Submission, fields: dict[str, str], expires_at: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            **self._key(submission.tenant_id, submission.submission_id),
            "gsi1pk": _s(f"TENANT#{submission.tenant_id}#SUBMISSIONS"),
            "gsi1sk": _s(f"{sortable(submission.created_at)}#{submission.submission_id}"),
            "status": _s(submission.status.value),
            "revision": _n(submission.revision),
            "expires_at": _n(expires_at),
        }
        item.update({f"{_FIELD}{name}": _s(text) for name, text in fields.items()})
        return item

    def create(self, submission: Submission, *, first_event: TimelineEvent | None = None) -> Submission:
        now = utcnow()
        stored = submission.model_copy(update={"revision": 1, "created_at": now, "updated_at": now})
        fields = field_values(stored)
        expires_at = self._expires_at(now)
        put = {
            "TableName": self._table_name,
            "Item": self._full_item(stored, fields, expires_at),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            if first_event is None:
                self._client.put_item(**put)
            else:
                events = self._event_writes(stored.tenant_id, stored.submission_id, stored.device_id, first_event)
                self._client.transact_write_items(TransactItems=[{"Put": put}, *events])
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ConflictError(f"submission {submission.submission_id!r} already exists") from None
            raise
        self._remember(stored, fields, expires_at)
        return stored

    def get(self, tenant_id: str, submission_id: str) -> Submission | None:
        item = self._client.get_item(
            TableName=self._table_name, Key=self._key(tenant_id, submission_id), ConsistentRead=True
        ).get("Item")
        return self._loaded(item) if item else None

    def _loaded(self, item: Mapping[str, Any]) -> Submission:
        submission = submission_from_item(item)
        if "doc" not in item:  # a legacy item's first save writes every field
            self._remember(submission, field_values(submission), int(_plain(item.get("expires_at", _n(0))) or 0))
        return submission

    def save(self, submission: Submission, *, events: Sequence[TimelineEvent] = ()) -> Submission:
        stored = submission.model_copy(update={"revision": submission.revision + 1, "updated_at": utcnow()})
        fields = field_values(stored)
        expires_at = self._expires_at(stored.updated_at)
        seen = self._seen_at(submission)
        changed = fields if seen is None else {k: v for k, v in fields.items() if seen.fields.get(k) != v}
        names: dict[str, str] = {"#status": "status", "#revision": "revision", "#expires": "expires_at"}
        values: dict[str, Any] = {
            ":status": _s(stored.status.value),
            ":revision": _n(stored.revision),
            ":expires": _n(expires_at),
            ":expected": _n(submission.revision),
        }
        sets = ["#status = :status", "#revision = :revision", "#expires = :expires"]
        if seen is None:  # unknown starting point: also (re)write the index keys
            names.update({"#g1pk": "gsi1pk", "#g1sk": "gsi1sk"})
            values[":g1pk"] = _s(f"TENANT#{stored.tenant_id}#SUBMISSIONS")
            values[":g1sk"] = _s(f"{sortable(stored.created_at)}#{stored.submission_id}")
            sets += ["#g1pk = :g1pk", "#g1sk = :g1sk"]
        for i, (name, text) in enumerate(sorted(changed.items())):
            names[f"#f{i}"] = f"{_FIELD}{name}"
            values[f":f{i}"] = _s(text)
            sets.append(f"#f{i} = :f{i}")
        update = {
            "TableName": self._table_name,
            "Key": self._key(stored.tenant_id, stored.submission_id),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": "attribute_exists(pk) AND #revision = :expected",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        extra: list[dict[str, Any]] = []
        for event in events:
            extra.extend(
                self._event_writes(stored.tenant_id, stored.submission_id, stored.device_id, event, once=False)
            )
        ticket_id = stored.progress.ticket_id
        if ticket_id is not None and (
            seen is None
            or ("progress" in changed and json.loads(seen.fields.get("progress", "{}")).get("ticket_id") != ticket_id)
            or seen.expires_at < expires_at - _LINK_REFRESH
        ):
            extra.append({"Put": {"TableName": self._table_name, "Item": self._link_item(stored, expires_at)}})
        try:
            if extra:
                self._client.transact_write_items(TransactItems=[{"Update": update}, *extra])
            else:
                self._client.update_item(**update)
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ConflictError(
                    f"submission {submission.submission_id!r} was changed by someone else; reload and retry"
                ) from None
            raise
        self._remember(stored, fields, expires_at)
        return stored

    def _link_item(self, submission: Submission, expires_at: int) -> dict[str, Any]:
        assert submission.progress.ticket_id is not None
        return {
            "pk": _s(ticket_pk(submission.tenant_id, submission.progress.ticket_id)),
            "sk": _s("TICKET"),
            "tenant_id": _s(submission.tenant_id),
            "submission_id": _s(submission.submission_id),
            "expires_at": _n(expires_at),
        }

    def find_by_ticket(self, tenant_id: str, ticket_id: int) -> Submission | None:
        item = self._client.get_item(
            TableName=self._table_name, Key={"pk": _s(ticket_pk(tenant_id, ticket_id)), "sk": _s("TICKET")}
        ).get("Item")
        if not item:
            return None
        return self.get(tenant_id, str(_plain(item["submission_id"])))

    def list_recent(self, tenant_id: str, *, limit: int = 50) -> list[Submission]:
        page = self._client.query(
            TableName=self._table_name,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"TENANT#{tenant_id}#SUBMISSIONS")},
            ScanIndexForward=False,
            Limit=max(1, min(limit, 500)),
        )
        return [submission_from_item(i) for i in page.get("Items", [])]

    def page(
        self, tenant_id: str, *, limit: int, after: str | None = None, since: datetime | None = None
    ) -> tuple[list[tuple[str, Submission]], bool]:
        """Up to `limit` (<= 100) of the tenant's submissions, newest first, each with its position (its gsi1sk).

        `after`: the position of the last one the caller has seen (never another tenant's: the key is rebuilt
        from `tenant_id`); `since`: only submissions created after it. Returns (items, more)."""
        gsi1pk = f"TENANT#{tenant_id}#SUBMISSIONS"
        condition = "gsi1pk = :pk"
        values: dict[str, Any] = {":pk": _s(gsi1pk)}
        if since:
            condition += " AND gsi1sk > :since"
            values[":since"] = _s(sortable(since))
        kwargs: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        if after:
            submission_id = after.rsplit("#", 1)[-1]
            kwargs["ExclusiveStartKey"] = {
                "gsi1pk": _s(gsi1pk),
                "gsi1sk": _s(after),
                "pk": _s(submission_pk(tenant_id, submission_id)),
                "sk": _s(_SUBMISSION),
            }
        items: list[tuple[str, Submission]] = []
        want = max(1, min(limit, 100))
        for _ in range(10):  # bounded: a page of at most 100 items needs few 1 MB query pages
            kwargs["Limit"] = want - len(items)
            answer = self._client.query(**kwargs)
            items.extend((str(i["gsi1sk"]["S"]), submission_from_item(i)) for i in answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if not last:
                return items, False
            if len(items) >= want:
                return items, True
            kwargs["ExclusiveStartKey"] = last
        return items, True

    # ------------------------------------------------------------------ timeline
    def _event_writes(
        self, tenant_id: str, submission_id: str, device_id: str | None, event: TimelineEvent, *, once: bool = True
    ) -> list[dict[str, Any]]:
        """The transaction items that store one event (and its idempotency marker when it has an event id).

        `once`: the marker is conditional (the transaction fails if the event exists). Events saved together
        with a submission change are exactly once through that change's revision condition instead, so their
        marker is written unconditionally (later appends of the same id still find it)."""
        pk = submission_pk(tenant_id, submission_id)
        suffix = (
            hashlib.sha256(event.event_id.encode("utf-8")).hexdigest()[:16] if event.event_id else secrets.token_hex(8)
        )
        at = sortable(event.at)
        expires_at = self._expires_at()
        item: dict[str, Any] = {
            "pk": _s(pk),
            "sk": _s(f"{_EVENT}{at}#{suffix}"),
            "event": _s(event.event),
            "expires_at": _n(expires_at),
            "doc": _s(event.model_dump_json()),
        }
        if device_id:
            item["gsi1pk"] = _s(device_feed_key(tenant_id, device_id))
            item["gsi1sk"] = _s(f"{at}#{submission_id}#{suffix}")
        writes: list[dict[str, Any]] = []
        if event.event_id:
            marker: dict[str, Any] = {
                "TableName": self._table_name,
                "Item": {"pk": _s(pk), "sk": _s(f"{_EVENT_ID}{event.event_id}"), "expires_at": _n(expires_at)},
            }
            if once:
                marker["ConditionExpression"] = "attribute_not_exists(pk)"
            writes.append({"Put": marker})
        writes.append({"Put": {"TableName": self._table_name, "Item": item}})
        return writes

    def append_event(self, tenant_id: str, submission_id: str, event: TimelineEvent) -> bool:
        writes = self._event_writes(tenant_id, submission_id, self._device_of(tenant_id, submission_id), event)
        try:
            if len(writes) == 1:
                self._client.put_item(**writes[0]["Put"])
            else:
                self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def _device_of(self, tenant_id: str, submission_id: str) -> str | None:
        with self._lock:
            seen = self._seen.get((tenant_id, submission_id))
        if seen is not None and "device_id" in seen.fields:  # a submission's device never changes
            device = json.loads(seen.fields["device_id"])
            return str(device) if device else None
        item = self._client.get_item(
            TableName=self._table_name,
            Key=self._key(tenant_id, submission_id),
            ProjectionExpression="#d, doc",
            ExpressionAttributeNames={"#d": f"{_FIELD}device_id"},
        ).get("Item")
        if not item:
            return None
        if f"{_FIELD}device_id" in item:
            device = json.loads(item[f"{_FIELD}device_id"]["S"])
        else:
            device = json.loads(item["doc"]["S"]).get("device_id") if "doc" in item else None
        return str(device) if device else None

    def _partition(self, tenant_id: str, submission_id: str, start: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "pk = :pk AND sk >= :start",
            "ExpressionAttributeValues": {":pk": _s(submission_pk(tenant_id, submission_id)), ":start": _s(start)},
            "ConsistentRead": True,
        }
        for _ in range(20):  # bounded paging
            page = self._client.query(**kwargs)
            rows.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return rows

    def list_events(self, tenant_id: str, submission_id: str, *, limit: int = 200) -> list[TimelineEvent]:
        return self.get_with_events(tenant_id, submission_id, limit=limit)[1]

    def get_with_events(
        self, tenant_id: str, submission_id: str, *, limit: int = 200
    ) -> tuple[Submission | None, list[TimelineEvent]]:
        """The submission and its timeline (oldest first) in one Query: they share a partition, and the
        SUBMISSION item sorts after every EVENT# item."""
        submission: Submission | None = None
        events: list[TimelineEvent] = []
        for row in self._partition(tenant_id, submission_id, _EVENT):
            sk = row["sk"]["S"]
            if sk == _SUBMISSION:
                submission = self._loaded(row)
            elif sk.startswith(_EVENT) and not sk.startswith(_EVENT_ID) and len(events) < limit:
                events.append(TimelineEvent.model_validate_json(row["doc"]["S"]))
        return submission, events
