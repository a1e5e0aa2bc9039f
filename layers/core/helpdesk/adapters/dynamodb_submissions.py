"""DynamoDB adapter for submissions and their timelines (the SubmissionsTable).

Item layout (pk / sk), every item carries `expires_at` (epoch seconds, the table's TTL attribute):
  SUB#<tenant>#<submission id> / SUBMISSION       the Submission document (JSON in `doc`), `revision`, `status`;
                                                  gsi1pk=TENANT#<tenant>#SUBMISSIONS, gsi1sk=<created iso>#<id>
                                                  (a tenant's submissions, newest last)
  SUB#<tenant>#<submission id> / EVENT#<at iso>#<n> one timeline event (JSON in `doc`); when the submission has a
                                                  device id: gsi1pk=TENANT#<tenant>#DEVICE#<device id>,
                                                  gsi1sk=<at iso>#<submission id>#<n> (a device's feed)
  SUB#<tenant>#<submission id> / EVENTID#<event id> marks an idempotent event as stored (same transaction)
  TICKET#<tenant>#<ticket id>  / TICKET           link from an Autotask ticket back to its submission
A submission and its timeline share a partition, so the status read is one Query. The submission's TTL is
refreshed on every save ("expire N days after the last change").
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from helpdesk import aws
from helpdesk.domain.ports import ConflictError
from helpdesk.domain.submission import Submission, TimelineEvent
from helpdesk.domain.tenant import utcnow

_SUBMISSION = "SUBMISSION"
_EVENT = "EVENT#"


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


class DynamoSubmissionRepository:
    def __init__(self, table_name: str, *, retention_days: int = 90) -> None:
        self._table_name = table_name
        self._table = aws.table(table_name)
        self._retention = timedelta(days=retention_days)

    def _expires_at(self, now: datetime | None = None) -> int:
        return int(((now or utcnow()) + self._retention).timestamp())

    # ------------------------------------------------------------------ submissions
    def _item(self, submission: Submission) -> dict[str, Any]:
        return {
            "pk": submission_pk(submission.tenant_id, submission.submission_id),
            "sk": _SUBMISSION,
            "gsi1pk": f"TENANT#{submission.tenant_id}#SUBMISSIONS",
            "gsi1sk": f"{sortable(submission.created_at)}#{submission.submission_id}",
            "status": submission.status.value,
            "revision": submission.revision,
            "expires_at": self._expires_at(submission.updated_at),
            "doc": submission.model_dump_json(),
        }

    def create(self, submission: Submission) -> Submission:
        now = utcnow()
        stored = submission.model_copy(update={"revision": 1, "created_at": now, "updated_at": now})
        try:
            self._table.put_item(Item=self._item(stored), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ConflictError(f"submission {submission.submission_id!r} already exists") from None
            raise
        return stored

    def get(self, tenant_id: str, submission_id: str) -> Submission | None:
        item = self._table.get_item(
            Key={"pk": submission_pk(tenant_id, submission_id), "sk": _SUBMISSION}, ConsistentRead=True
        ).get("Item")
        return Submission.model_validate_json(item["doc"]) if item else None

    def save(self, submission: Submission) -> Submission:
        stored = submission.model_copy(update={"revision": submission.revision + 1, "updated_at": utcnow()})
        try:
            self._table.put_item(
                Item=self._item(stored),
                ConditionExpression="attribute_exists(pk) AND revision = :expected",
                ExpressionAttributeValues={":expected": submission.revision},
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ConflictError(
                    f"submission {submission.submission_id!r} was changed by someone else; reload and retry"
                ) from None
            raise
        if stored.progress.ticket_id is not None:
            self._link_ticket(stored)
        return stored

    def _link_ticket(self, submission: Submission) -> None:
        assert submission.progress.ticket_id is not None
        self._table.put_item(
            Item={
                "pk": ticket_pk(submission.tenant_id, submission.progress.ticket_id),
                "sk": "TICKET",
                "tenant_id": submission.tenant_id,
                "submission_id": submission.submission_id,
                "expires_at": self._expires_at(),
            }
        )

    def find_by_ticket(self, tenant_id: str, ticket_id: int) -> Submission | None:
        item = self._table.get_item(Key={"pk": ticket_pk(tenant_id, ticket_id), "sk": "TICKET"}).get("Item")
        if not item:
            return None
        return self.get(tenant_id, str(item["submission_id"]))

    def list_recent(self, tenant_id: str, *, limit: int = 50) -> list[Submission]:
        page = self._table.query(
            IndexName="gsi1",
            KeyConditionExpression=Key("gsi1pk").eq(f"TENANT#{tenant_id}#SUBMISSIONS"),
            ScanIndexForward=False,
            Limit=max(1, min(limit, 500)),
        )
        return [Submission.model_validate_json(i["doc"]) for i in page.get("Items", [])]

    def page(
        self, tenant_id: str, *, limit: int, after: str | None = None, since: datetime | None = None
    ) -> tuple[list[tuple[str, Submission]], bool]:
        """Up to `limit` (<= 100) of the tenant's submissions, newest first, each with its position (its gsi1sk).

        `after`: the position of the last one the caller has seen (never another tenant's: the key is rebuilt
        from `tenant_id`); `since`: only submissions created after it. Returns (items, more)."""
        gsi1pk = f"TENANT#{tenant_id}#SUBMISSIONS"
        condition: Any = Key("gsi1pk").eq(gsi1pk)
        if since:
            condition = condition & Key("gsi1sk").gt(sortable(since))
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
        }
        if after:
            submission_id = after.rsplit("#", 1)[-1]
            kwargs["ExclusiveStartKey"] = {
                "gsi1pk": gsi1pk,
                "gsi1sk": after,
                "pk": submission_pk(tenant_id, submission_id),
                "sk": _SUBMISSION,
            }
        items: list[tuple[str, Submission]] = []
        want = max(1, min(limit, 100))
        for _ in range(10):  # bounded: a page of at most 100 items needs few 1 MB query pages
            kwargs["Limit"] = want - len(items)
            answer = self._table.query(**kwargs)
            items.extend((str(i["gsi1sk"]), Submission.model_validate_json(i["doc"])) for i in answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if not last:
                return items, False
            if len(items) >= want:
                return items, True
            kwargs["ExclusiveStartKey"] = last
        return items, True

    # ------------------------------------------------------------------ timeline
    def append_event(self, tenant_id: str, submission_id: str, event: TimelineEvent) -> bool:
        pk = submission_pk(tenant_id, submission_id)
        suffix = (
            hashlib.sha256(event.event_id.encode("utf-8")).hexdigest()[:16] if event.event_id else secrets.token_hex(8)
        )
        at = sortable(event.at)
        item: dict[str, Any] = {
            "pk": pk,
            "sk": f"{_EVENT}{at}#{suffix}",
            "event": event.event,
            "expires_at": self._expires_at(),
            "doc": event.model_dump_json(),
        }
        device_id = self._device_of(tenant_id, submission_id)
        if device_id:
            item["gsi1pk"] = device_feed_key(tenant_id, device_id)
            item["gsi1sk"] = f"{at}#{submission_id}#{suffix}"
        if not event.event_id:
            self._table.put_item(Item=item)
            return True
        client = aws.client("dynamodb")
        serializer = _serializer()
        marker = {"pk": pk, "sk": f"EVENTID#{event.event_id}", "expires_at": self._expires_at()}
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table_name,
                            "Item": {k: serializer.serialize(v) for k, v in marker.items()},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table_name,
                            "Item": {k: serializer.serialize(v) for k, v in item.items()},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def _device_of(self, tenant_id: str, submission_id: str) -> str | None:
        item = self._table.get_item(
            Key={"pk": submission_pk(tenant_id, submission_id), "sk": _SUBMISSION},
            ProjectionExpression="doc",
        ).get("Item")
        if not item:
            return None
        return Submission.model_validate_json(item["doc"]).device_id

    def list_events(self, tenant_id: str, submission_id: str, *, limit: int = 200) -> list[TimelineEvent]:
        events: list[TimelineEvent] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(submission_pk(tenant_id, submission_id))
            & Key("sk").begins_with(_EVENT),
            "ConsistentRead": True,
        }
        for _ in range(20):  # bounded paging
            page = self._table.query(**kwargs)
            events.extend(TimelineEvent.model_validate_json(i["doc"]) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page or len(events) >= limit:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return events[:limit]


def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()
