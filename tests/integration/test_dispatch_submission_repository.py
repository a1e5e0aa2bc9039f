"""The DynamoDB submission repository against moto (tables exactly as template.yaml defines them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
from helpdesk.domain.ports import ConflictError
from helpdesk.domain.submission import (
    Submission,
    SubmissionRequest,
    SubmissionStatus,
    TimelineEvent,
    receipt_for,
)


def _request(sid: str = "sub-0001-abcd", device_id: str | None = None) -> SubmissionRequest:
    return SubmissionRequest.model_validate(
        {
            "submission_id": sid,
            "contact": {"name": "Ann Smith", "email": "ann@contoso.com"},
            "machine": {"hostname": "PC-ANN"},
            "msg": "My printer is on fire and the screen is blank",
            "device_id": device_id,
        }
    )


def _submission(sid: str = "sub-0001-abcd", tenant: str = "acme", device_id: str | None = None) -> Submission:
    request = _request(sid, device_id)
    return Submission.from_request(tenant, request, [], receipt=receipt_for("hbk_x", tenant, sid))


@pytest.fixture
def repo(aws_env: dict[str, str]) -> DynamoSubmissionRepository:
    return DynamoSubmissionRepository(aws_env["SUBMISSIONS_TABLE"], retention_days=90)


def test_create_get_save_with_optimistic_locking(repo: DynamoSubmissionRepository) -> None:
    created = repo.create(_submission())
    assert created.revision == 1
    assert repo.get("acme", created.submission_id) == created
    with pytest.raises(ConflictError):
        repo.create(_submission())
    saved = repo.save(created.model_copy(update={"status": SubmissionStatus.CREATING}))
    assert saved.revision == 2 and repo.get("acme", created.submission_id) == saved
    with pytest.raises(ConflictError):
        repo.save(created)


def test_submissions_are_scoped_by_tenant(repo: DynamoSubmissionRepository) -> None:
    repo.create(_submission(tenant="acme"))
    assert repo.get("other", "sub-0001-abcd") is None


def test_find_by_ticket_once_the_ticket_is_recorded(repo: DynamoSubmissionRepository) -> None:
    created = repo.create(_submission())
    assert repo.find_by_ticket("acme", 42) is None
    progress = created.progress.model_copy(update={"ticket_id": 42, "ticket_number": "T20260101.0001"})
    repo.save(created.model_copy(update={"progress": progress, "status": SubmissionStatus.CREATED}))
    found = repo.find_by_ticket("acme", 42)
    assert found is not None and found.submission_id == created.submission_id and found.ticket_number
    assert repo.find_by_ticket("other", 42) is None


def test_timeline_events_in_order_and_idempotent_by_event_id(
    repo: DynamoSubmissionRepository, aws_env: dict[str, str]
) -> None:
    created = repo.create(_submission(device_id="device-0001"))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert repo.append_event("acme", created.submission_id, TimelineEvent(at=t0, event="queued", text="Queued"))
    assert repo.append_event(
        "acme", created.submission_id, TimelineEvent(at=t0 + timedelta(seconds=5), event="reply", event_id="note-7")
    )
    assert not repo.append_event(
        "acme", created.submission_id, TimelineEvent(at=t0 + timedelta(seconds=9), event="reply", event_id="note-7")
    )
    events = repo.list_events("acme", created.submission_id)
    assert [e.event for e in events] == ["queued", "reply"]

    import boto3

    table = boto3.resource("dynamodb").Table(aws_env["SUBMISSIONS_TABLE"])
    items = table.scan()["Items"]
    assert all("expires_at" in i for i in items)
    feed = [i for i in items if i.get("gsi1pk") == "TENANT#acme#DEVICE#device-0001"]
    assert len(feed) == 2


def test_list_recent_newest_first(repo: DynamoSubmissionRepository) -> None:
    for n in range(3):
        repo.create(_submission(sid=f"sub-000{n}-abcd"))
    assert [s.submission_id for s in repo.list_recent("acme", limit=2)] == ["sub-0002-abcd", "sub-0001-abcd"]
