"""Every message on the work queue names its tenant as MessageGroupId (what makes the standard queue fair)."""

from __future__ import annotations

from typing import Any

import boto3

from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.sqs import SqsWorkQueue
from helpdesk.domain.tenant import CredentialKind, Tenant
from helpdesk.domain.work import SubmissionWork, SyncWork

from .intake_handler import IntakeCaller, load_intake


def _received(env: dict[str, str]) -> list[dict[str, Any]]:
    got = boto3.client("sqs").receive_message(
        QueueUrl=env["WORK_QUEUE_URL"], MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"]
    )
    return list(got.get("Messages", []))


def test_submission_and_sync_work_carry_the_tenant_as_message_group(aws_env: dict[str, str]) -> None:
    queue = SqsWorkQueue(aws_env["WORK_QUEUE_URL"])
    queue.send(SubmissionWork(tenant_id="acme", submission_id="s-1"))
    queue.send(SyncWork(tenant_id="bravo", ticket_id=7))
    groups = sorted(m["Attributes"]["MessageGroupId"] for m in _received(aws_env))
    assert groups == ["acme", "bravo"]


def test_a_press_through_intake_is_queued_in_its_tenants_group(aws_env: dict[str, str]) -> None:
    repo = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    key = repo.issue_credential("acme", CredentialKind.BUTTON_KEY).token
    body = {
        "submission_id": "sub-0001-abcd",
        "contact": {"name": "Ann Smith", "email": "ann@contoso.com"},
        "machine": {"hostname": "PC-ANN"},
        "msg": "Printer is broken",
    }
    status, _, _ = IntakeCaller(load_intake())("POST", "/v1/tickets", body=body, token=key)
    assert status == 202
    [message] = _received(aws_env)
    assert message["Attributes"]["MessageGroupId"] == "acme"
