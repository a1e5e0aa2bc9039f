"""DynamoDB adapters for notifications, in the SubmissionsTable (layout of dynamodb_submissions.py, plus):

  SYNC#<tenant>#<ticket id>   / PENDING     "sync pending" marker: `until` (epoch ms) a scheduled sync covers
                                            every further notification; `received`, `collapsed` counters,
                                            `last_source`, `last_at` (what arrived last). TTL 2 days.
  SUB#<tenant>#<submission>   / SYNCSTATE   the sync baseline (domain.sync.SyncState, JSON in
                                            `doc`), optimistic `revision`; TTL like the submission.
Feed reads use the timeline items written by DynamoSubmissionRepository.append_event (EVENT#<at>#<suffix>, and
the device index gsi1pk=TENANT#<tenant>#DEVICE#<device>, gsi1sk=<at>#<submission>#<suffix>).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from helpdesk import aws
from helpdesk.adapters.dynamodb_submissions import (
    device_feed_key,
    sortable,
    submission_from_item,
    submission_pk,
    ticket_pk,
)
from helpdesk.domain.ports import ConflictError
from helpdesk.domain.submission import StoredEvent, Submission, TimelineEvent
from helpdesk.domain.sync import SyncState
from helpdesk.domain.tenant import utcnow

_PENDING = "PENDING"
_STATE = "SYNCSTATE"
MARKER_TTL = timedelta(days=2)
MAX_FEED_ITEMS = 500


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _marker_pk(tenant_id: str, ticket_id: int) -> str:
    return f"SYNC#{tenant_id}#{int(ticket_id)}"


class DynamoSyncMarkers:
    """What the callout function needs: the ticket -> submission link and the collapsing marker."""

    def __init__(self, table_name: str) -> None:
        self._table = aws.table(table_name)

    def submission_for_ticket(self, tenant_id: str, ticket_id: int) -> str | None:
        item = self._table.get_item(
            Key={"pk": ticket_pk(tenant_id, ticket_id), "sk": "TICKET"}, ProjectionExpression="submission_id"
        ).get("Item")
        return str(item["submission_id"]) if item and item.get("submission_id") else None

    def schedule(self, tenant_id: str, ticket_id: int, *, source: str, now: datetime, window_seconds: int) -> bool:
        now_ms = int(now.timestamp() * 1000)
        key = {"pk": _marker_pk(tenant_id, ticket_id), "sk": _PENDING}
        values: dict[str, Any] = {
            ":now": now_ms,
            ":until": now_ms + window_seconds * 1000,
            ":one": 1,
            ":source": source,
            ":at": now.isoformat(),
            ":exp": int((now + MARKER_TTL).timestamp()),
        }
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression="SET #until = :until, last_source = :source, last_at = :at, expires_at = :exp "
                "ADD received :one",
                ConditionExpression="attribute_not_exists(pk) OR #until < :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        values.pop(":until")
        values.pop(":now")
        self._table.update_item(
            Key=key,
            UpdateExpression="SET last_source = :source, last_at = :at, expires_at = :exp ADD received :one, "
            "collapsed :one",
            ExpressionAttributeValues=values,
        )
        return False

    def release(self, tenant_id: str, ticket_id: int) -> None:
        self._table.update_item(
            Key={"pk": _marker_pk(tenant_id, ticket_id), "sk": _PENDING},
            UpdateExpression="SET #until = :zero",
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues={":zero": 0},
        )

    def marker(self, tenant_id: str, ticket_id: int) -> dict[str, Any] | None:
        """The raw marker item (ops and tests)."""
        item = self._table.get_item(Key={"pk": _marker_pk(tenant_id, ticket_id), "sk": _PENDING}).get("Item")
        return dict(item) if item else None


class DynamoSyncStates:
    """The dispatcher's sync baselines, optimistic-locked like submissions."""

    def __init__(self, table_name: str, *, retention_days: int = 90) -> None:
        self._table = aws.table(table_name)
        self._retention = timedelta(days=retention_days)

    def get(self, tenant_id: str, submission_id: str) -> SyncState | None:
        item = self._table.get_item(
            Key={"pk": submission_pk(tenant_id, submission_id), "sk": _STATE}, ConsistentRead=True
        ).get("Item")
        return SyncState.model_validate_json(item["doc"]) if item else None

    def save(self, tenant_id: str, submission_id: str, state: SyncState) -> SyncState:
        """Store; ConflictError if someone saved since `state` was read. Returns the new revision."""
        stored = state.model_copy(update={"revision": state.revision + 1})
        condition = "attribute_not_exists(pk)" if state.revision == 0 else "revision = :expected"
        kwargs: dict[str, Any] = {}
        if state.revision:
            kwargs["ExpressionAttributeValues"] = {":expected": state.revision}
        try:
            self._table.put_item(
                Item={
                    "pk": submission_pk(tenant_id, submission_id),
                    "sk": _STATE,
                    "revision": stored.revision,
                    "expires_at": int((utcnow() + self._retention).timestamp()),
                    "doc": stored.model_dump_json(),
                },
                ConditionExpression=condition,
                **kwargs,
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ConflictError(f"the sync state of {submission_id!r} changed; reload and retry") from None
            raise
        return stored


class DynamoFeedReader:
    """What GET /v1/notifications reads: submissions, and timeline events since a time."""

    def __init__(self, table_name: str) -> None:
        self._table = aws.table(table_name)

    def get(self, tenant_id: str, submission_id: str) -> Submission | None:
        item = self._table.get_item(Key={"pk": submission_pk(tenant_id, submission_id), "sk": "SUBMISSION"}).get("Item")
        return submission_from_item(item) if item else None

    def _paged(self, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for _ in range(10):  # bounded paging
            page = self._table.query(**kwargs)
            rows.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page or len(rows) >= MAX_FEED_ITEMS:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return rows[:MAX_FEED_ITEMS]

    def events_since(self, tenant_id: str, submission_id: str, since: datetime) -> list[StoredEvent]:
        rows = self._paged(
            {
                "KeyConditionExpression": Key("pk").eq(submission_pk(tenant_id, submission_id))
                & Key("sk").between(f"EVENT#{sortable(since)}", "EVENT#~"),
                "ConsistentRead": True,
            }
        )
        return [
            StoredEvent(submission_id, str(r["sk"]).rsplit("#", 1)[-1], TimelineEvent.model_validate_json(r["doc"]))
            for r in rows
        ]

    def device_events_since(self, tenant_id: str, device_id: str, since: datetime) -> list[StoredEvent]:
        rows = self._paged(
            {
                "IndexName": "gsi1",
                "KeyConditionExpression": Key("gsi1pk").eq(device_feed_key(tenant_id, device_id))
                & Key("gsi1sk").gte(sortable(since)),
            }
        )
        prefix = f"SUB#{tenant_id}#"
        out: list[StoredEvent] = []
        for r in rows:
            pk = str(r.get("pk", ""))
            if not pk.startswith(prefix) or "doc" not in r:
                continue
            out.append(
                StoredEvent(
                    pk[len(prefix) :], str(r["sk"]).rsplit("#", 1)[-1], TimelineEvent.model_validate_json(r["doc"])
                )
            )
        return out
