"""The callout function's handler in-process on moto: callouts and webhooks in, collapsed sync jobs out.

Rejections (forged token, bad signature, garbage) must leave no trace: no marker item, no queue message.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from devstack.events import api_event, lambda_context
from helpdesk.adapters.dynamodb_notifications import DynamoSyncMarkers
from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.kms import KmsSecretBox
from helpdesk.domain.submission import Submission, SubmissionRequest, receipt_for
from helpdesk.domain.tenant import CredentialKind, SecretPurpose, Tenant
from helpdesk.notifications.inbound import signature_of

CALLOUT_DIR = Path(__file__).resolve().parents[2] / "functions" / "callout"
TENANT = "acme"
SECRET = "whsec-0123456789abcdef0123456789abcdef"
TICKET = 4242


def _load() -> Any:
    sys.modules.pop("callout_app", None)
    spec = importlib.util.spec_from_file_location("callout_app", CALLOUT_DIR / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def world(aws_env: dict[str, str]) -> dict[str, Any]:
    tenants = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    box = KmsSecretBox(aws_env["CREDENTIALS_KEY_ID"])
    tenants.create(
        Tenant(
            tenant_id=TENANT,
            name="Acme",
            webhook_secret_ciphertext=box.seal(TENANT, SECRET, purpose=SecretPurpose.WEBHOOK_SECRET),
        )
    )
    token = tenants.issue_credential(TENANT, CredentialKind.CALLOUT_TOKEN, "Ticket Notification").token
    subs = DynamoSubmissionRepository(aws_env["SUBMISSIONS_TABLE"])
    request = SubmissionRequest.model_validate(
        {
            "submission_id": "press-0001",
            "contact": {"name": "Alice", "email": "alice@contoso.com"},
            "machine": {"hostname": "PC1"},
            "msg": "help",
        }
    )
    sub = subs.create(Submission.from_request(TENANT, request, [], receipt=receipt_for("hbk_x", TENANT, "press-0001")))
    subs.save(sub.model_copy(update={"progress": sub.progress.model_copy(update={"ticket_id": TICKET})}))
    return {"env": aws_env, "token": token, "app": _load(), "markers": DynamoSyncMarkers(aws_env["SUBMISSIONS_TABLE"])}


def _call(
    world: dict[str, Any], kind: str, body: bytes | str, headers: dict[str, str], token: str | None = None
) -> tuple[int, dict[str, Any]]:
    token = world["token"] if token is None else token
    resource = "/v1/callouts/{token}" if kind == "callout" else "/v1/webhooks/{token}"
    event = api_event(
        "POST",
        f"/v1/{kind}s/{quote(token, safe='')}",
        resource=resource,
        path_parameters={"token": token},
        headers=headers,
        body=body,
    )
    answer = world["app"].lambda_handler(event, lambda_context("callout"))
    return answer["statusCode"], json.loads(answer["body"])


def _queued(world: dict[str, Any]) -> int:
    """Messages on the work queue, delayed ones included (syncs are sent with DelaySeconds)."""
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=world["env"]["WORK_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesDelayed"])


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_callout_queues_one_delayed_sync_and_records_it(world: dict[str, Any]) -> None:
    status, body = _call(world, "callout", f"id={TICKET}&number=T20261126.0001&status=In+Progress", FORM)
    assert (status, body) == (200, {"status": "queued", "ticket_id": TICKET})
    assert _queued(world) == 1
    marker = world["markers"].marker(TENANT, TICKET)
    assert marker is not None and marker["received"] == 1 and marker["last_source"] == "callout"


def test_a_burst_of_callouts_and_webhooks_for_one_ticket_is_one_sync(world: dict[str, Any]) -> None:
    note = json.dumps(
        {"Action": "Create", "Guid": "g", "EntityType": "TicketNote", "Id": 77, "Fields": {"ticketID": TICKET}}
    ).encode()
    outcomes = []
    for _ in range(4):
        outcomes.append(_call(world, "callout", f"ID={TICKET}", FORM)[1]["status"])
        outcomes.append(
            _call(
                world,
                "webhook",
                note,
                {"Content-Type": "application/json", "X-Hook-Signature": signature_of(SECRET, note)},
            )[1]["status"]
        )
    assert outcomes == ["queued"] + ["collapsed"] * 7
    assert _queued(world) == 1
    marker = world["markers"].marker(TENANT, TICKET)
    assert marker["received"] == 8 and marker["collapsed"] == 7


def test_xml_and_json_callouts_are_understood(world: dict[str, Any]) -> None:
    assert (
        _call(world, "callout", f"<ticket><TicketID>{TICKET}</TicketID></ticket>", {"Content-Type": "text/xml"})[0]
        == 200
    )
    assert _call(world, "callout", json.dumps({"TicketId": TICKET}), {"Content-Type": "application/json"})[0] == 200


def test_other_tickets_of_the_msp_are_ignored_without_a_trace(world: dict[str, Any]) -> None:
    assert _call(world, "callout", "id=999&status=New", FORM) == (
        200,
        {"status": "ignored", "reason": "not a ticket from a button press"},
    )
    assert _queued(world) == 0 and world["markers"].marker(TENANT, 999) is None


@pytest.mark.parametrize(
    ("kind", "token", "body", "headers", "expected"),
    [
        ("callout", "hbc_forged0000000000000000000000000000000000", f"id={TICKET}", FORM, 404),
        ("callout", "", f"id={TICKET}", FORM, 404),
        ("webhook", "hbc_forged0000000000000000000000000000000000", "{}", {}, 404),
        ("webhook", None, json.dumps({"Action": "Update", "EntityType": "Ticket", "Id": TICKET}), {}, 401),
        (
            "webhook",
            None,
            json.dumps({"Action": "Update", "EntityType": "Ticket", "Id": TICKET}),
            {"X-Hook-Signature": signature_of("not-the-secret", b"{}")},
            401,
        ),
        ("callout", None, "this is not a callout", FORM, 400),
        (
            "callout",
            None,
            "<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
            {"Content-Type": "text/xml"},
            400,
        ),
        ("callout", None, "id=" + "9" * 30, FORM, 400),
        ("callout", None, f"id={TICKET}&pad=" + "x" * 300_000, FORM, 413),
    ],
)
def test_rejections_change_nothing(
    world: dict[str, Any], kind: str, token: str | None, body: str, headers: dict[str, str], expected: int
) -> None:
    status, answer = _call(world, kind, body, headers, token)
    assert status == expected and "error" in answer
    assert _queued(world) == 0 and world["markers"].marker(TENANT, TICKET) is None
    assert world["token"] not in json.dumps(answer)


def test_a_signed_but_malformed_webhook_is_400_and_changes_nothing(world: dict[str, Any]) -> None:
    body = b'{"Action": "Update"}'
    status, _ = _call(world, "webhook", body, {"X-Hook-Signature": signature_of(SECRET, body)})
    assert status == 400 and _queued(world) == 0


def test_a_rotated_token_stops_working_at_once(world: dict[str, Any]) -> None:
    tenants = DynamoTenantRepository(world["env"]["TENANTS_TABLE"])
    [credential] = tenants.list_credentials(TENANT, CredentialKind.CALLOUT_TOKEN)
    tenants.revoke_credential(TENANT, CredentialKind.CALLOUT_TOKEN, credential.credential_id)
    assert _call(world, "callout", f"id={TICKET}", FORM)[0] == 404
    assert _queued(world) == 0


def test_base64_bodies_and_unknown_routes(world: dict[str, Any]) -> None:
    event = api_event(
        "POST",
        "/v1/callouts/x",
        resource="/v1/callouts/{token}",
        path_parameters={"token": world["token"]},
        headers=FORM,
        body=f"id={TICKET}".encode(),
        binary=True,
    )
    answer = world["app"].lambda_handler(event, lambda_context("callout"))
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["status"] == "queued"
    broken = dict(event, body="***not base64***")
    assert world["app"].lambda_handler(broken, lambda_context("callout"))["statusCode"] == 400
    other = dict(event, resource="/v1/elsewhere", httpMethod="POST")
    assert world["app"].lambda_handler(other, lambda_context("callout"))["statusCode"] == 404
    get = dict(event, httpMethod="GET")
    assert world["app"].lambda_handler(get, lambda_context("callout"))["statusCode"] == 404


def test_the_token_never_reaches_the_logs(world: dict[str, Any]) -> None:
    from helpdesk.observability import logger

    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        _call(world, "callout", f"id={TICKET}", FORM)
        _call(world, "callout", "garbage", FORM)
        _call(world, "webhook", "{}", {"X-Hook-Signature": "sha1=AAAA"})
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    logs = buffer.getvalue()
    assert "notification answered" in logs  # the logs were captured
    assert world["token"] not in logs and SECRET not in logs


def test_warm_answer_time(world: dict[str, Any]) -> None:
    """Figures, not a gate: the handler's own time per callout on moto in-process (queued vs collapsed)."""
    import time

    timings: dict[str, list[float]] = {}
    for _ in range(30):
        started = time.perf_counter()
        _, body = _call(world, "callout", f"id={TICKET}", FORM)
        timings.setdefault(body["status"], []).append((time.perf_counter() - started) * 1000)
    for status, values in sorted(timings.items()):
        values.sort()
        print(f"callout {status}: n={len(values)} median {values[len(values) // 2]:.1f} ms max {values[-1]:.1f} ms")
    assert set(timings) == {"queued", "collapsed"}
