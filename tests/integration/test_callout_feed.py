"""GET /v1/notifications through the intake handler on moto: authentication, receipts / device id, rendering
from the tenant's templates, and a cursor that never loses or repeats an event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.events import api_event, lambda_context
from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.domain.submission import TimelineEvent
from helpdesk.domain.tenant import CredentialKind, NotificationEvent, NotificationSettings, Tenant

from .intake_handler import load_intake

TENANT = "acme"


@pytest.fixture
def world(aws_env: dict[str, str]) -> dict[str, Any]:
    tenants = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    tenants.create(
        Tenant(
            tenant_id=TENANT,
            name="Acme",
            notifications=NotificationSettings(
                events=[NotificationEvent.CREATED, NotificationEvent.STATUS_CHANGED, NotificationEvent.REPLY],
                templates={
                    NotificationEvent.STATUS_CHANGED: "Hi __ticket_fname__, __ticket_number__ is now __status__",
                    NotificationEvent.REPLY: "__actor__ answered on __ticket_number__ (__ticket_subject__)",
                },
            ),
        )
    )
    tenants.create(Tenant(tenant_id="other", name="Other MSP"))
    return {
        "app": load_intake(),
        "key": tenants.issue_credential(TENANT, CredentialKind.BUTTON_KEY).token,
        "other_key": tenants.issue_credential("other", CredentialKind.BUTTON_KEY).token,
        "subs": DynamoSubmissionRepository(aws_env["SUBMISSIONS_TABLE"]),
    }


def _call(
    world: dict[str, Any],
    method: str,
    path: str,
    *,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
) -> tuple[int, Any]:
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if key is not None:
        hdrs["Authorization"] = f"Bearer {key}"
    event = api_event(method, path, resource=path, headers=hdrs, query=query, body=json.dumps(body) if body else None)
    answer = world["app"].lambda_handler(event, lambda_context("intake"))
    return answer["statusCode"], json.loads(answer["body"] or "null")


def _submit(world: dict[str, Any], sid: str, device_id: str | None = None) -> str:
    body: dict[str, Any] = {
        "submission_id": sid,
        "contact": {"name": "Alice Anders", "email": "alice@contoso.com"},
        "machine": {"hostname": "PC1"},
        "msg": "The printer is on fire",
    }
    if device_id:
        body["device_id"] = device_id
    status, answer = _call(world, "POST", "/v1/tickets", key=world["key"], body=body)
    assert status == 202, answer
    return str(answer["receipt"])


def _event(world: dict[str, Any], sid: str, kind: str, event_id: str, **data: Any) -> None:
    world["subs"].append_event(
        TENANT, sid, TimelineEvent(event=kind, text=f"{kind} text", event_id=event_id, data=data)
    )


def _feed(
    world: dict[str, Any],
    *,
    receipts: list[str] = (),
    device: str | None = None,
    since: str | None = None,
    key: str | None = None,
) -> tuple[int, Any]:  # type: ignore[assignment]
    headers = {}
    if receipts:
        headers["X-Receipt"] = ",".join(receipts)
    if device:
        headers["X-Device-Id"] = device
    query = {"since": since} if since else None
    return _call(world, "GET", "/v1/notifications", key=key or world["key"], headers=headers, query=query)


def test_the_feed_shows_new_events_rendered_and_each_only_once(world: dict[str, Any]) -> None:
    receipt = _submit(world, "press-0001")
    _event(world, "press-0001", "created", "dispatch:created", ticket_number="T20261126.0001")
    status, first = _feed(world, receipts=[receipt])
    assert status == 200
    assert [(e["event"], e["text"]) for e in first["events"]] == [
        ("created", "Ticket T20261126.0001 was created: The printer is on fire")
    ]
    # When the technician changes the status and replies
    _event(world, "press-0001", "status_changed", "s1", ticket_number="T20261126.0001", status="In Progress")
    _event(
        world, "press-0001", "reply", "r1", ticket_number="T20261126.0001", actor="Terry Technician", reply="Restart it"
    )
    _event(world, "press-0001", "completed", "c1", ticket_number="T20261126.0001")  # the tenant turned this off
    status, second = _feed(world, receipts=[receipt], since=first["cursor"])
    assert [(e["event"], e["text"], e["detail"]) for e in second["events"]] == [
        ("status_changed", "Hi Alice, T20261126.0001 is now In Progress", None),
        ("reply", "Terry Technician answered on T20261126.0001 (The printer is on fire)", "Restart it"),
    ]
    assert all(e["submission_id"] == "press-0001" and e["ticket_number"] == "T20261126.0001" for e in second["events"])
    # And nothing is shown twice
    _, third = _feed(world, receipts=[receipt], since=second["cursor"])
    assert third["events"] == [] and third["more"] is False


def test_a_device_id_reads_every_submission_of_that_device(world: dict[str, Any]) -> None:
    _submit(world, "press-0002", device_id="device-alice-1")
    _submit(world, "press-0003", device_id="device-alice-1")
    _submit(world, "press-0004", device_id="device-bob-0001")
    for sid in ("press-0002", "press-0003", "press-0004"):
        _event(world, sid, "created", "dispatch:created", ticket_number=f"T-{sid}")
    _, got = _feed(world, device="device-alice-1")
    assert sorted(e["submission_id"] for e in got["events"]) == ["press-0002", "press-0003"]


def test_receipts_and_device_together_do_not_duplicate(world: dict[str, Any]) -> None:
    receipt = _submit(world, "press-0005", device_id="device-carol-1")
    _event(world, "press-0005", "created", "dispatch:created", ticket_number="T5")
    _, got = _feed(world, receipts=[receipt], device="device-carol-1")
    assert len(got["events"]) == 1


def test_unknown_and_wrong_receipts_are_skipped_but_alone_they_are_404(world: dict[str, Any]) -> None:
    receipt = _submit(world, "press-0006")
    _event(world, "press-0006", "created", "dispatch:created", ticket_number="T6")
    forged = receipt[:-4] + "AAAA"
    status, got = _feed(world, receipts=[forged, "hbr_nosuch-123.abc", receipt])
    assert status == 200 and len(got["events"]) == 1
    assert _feed(world, receipts=[forged])[0] == 404


def test_another_tenants_key_sees_nothing(world: dict[str, Any]) -> None:
    receipt = _submit(world, "press-0007")
    _event(world, "press-0007", "created", "dispatch:created", ticket_number="T7")
    assert _feed(world, receipts=[receipt], key=world["other_key"])[0] == 404


def test_bad_requests(world: dict[str, Any]) -> None:
    receipt = _submit(world, "press-0008")
    assert _feed(world, receipts=[receipt], key="hbk_wrong")[0] == 401
    status, answer = _call(world, "GET", "/v1/notifications", headers={"X-Receipt": receipt})
    assert status == 401 and answer["error"] == "unauthorized"
    status, answer = _feed(world, receipts=[receipt], since="not-a-cursor")
    assert status == 422 and answer["fields"][0]["field"] == "since"
    status, answer = _feed(world)
    assert status == 422
    assert _feed(world, device="bad id!")[0] == 422


def test_paging_with_limit(world: dict[str, Any]) -> None:
    receipt = _submit(world, "press-0009")
    start = datetime.now(UTC) - timedelta(minutes=1)
    for i in range(7):
        world["subs"].append_event(
            TENANT,
            "press-0009",
            TimelineEvent(
                at=start + timedelta(seconds=i), event="status_changed", event_id=f"s{i}", data={"status": f"S{i}"}
            ),
        )
    seen: list[str] = []
    since = None
    for _ in range(10):
        status, got = _call(
            world,
            "GET",
            "/v1/notifications",
            key=world["key"],
            headers={"X-Receipt": receipt},
            query={"limit": "3", **({"since": since} if since else {})},
        )
        assert status == 200
        seen += [e["text"] for e in got["events"]]
        since = got["cursor"]
        if not got["more"]:
            break
    assert [t.rsplit(" ", 1)[-1] for t in seen] == [f"S{i}" for i in range(7)]
