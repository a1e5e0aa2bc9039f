"""Presigned uploads over real HTTP (the session devstack): the storage layer itself refuses a body larger than the
size the agent declared, and an upload becomes an attachment only when a submission names it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.client_env import StackEnv
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.domain.tenant import CredentialKind, Tenant

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def uploader(devstack: Any) -> Iterator[dict[str, Any]]:
    stack_env = StackEnv(devstack.env)
    stack_env.apply()
    try:
        tenants = DynamoTenantRepository(devstack.resources["TenantsTable"]["Ref"])
        tenant_id = f"e2e-upl-{uuid.uuid4().hex[:8]}"
        tenants.create(Tenant(tenant_id=tenant_id, name="Upload MSP"))
        key = tenants.issue_credential(tenant_id, CredentialKind.BUTTON_KEY).token
        yield {"tenant_id": tenant_id, "key": key, "api": devstack.api_url}
    finally:
        stack_env.restore()


def _slot(uploader: dict[str, Any], sid: str, size: int) -> dict[str, Any]:
    answer = requests.post(
        f"{uploader['api']}/v1/uploads",
        json={"submission_id": sid, "filename": "report.txt", "content_type": "text/plain", "size": size},
        headers={"Authorization": f"Bearer {uploader['key']}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    slot = answer.json()
    assert slot["method"] == "POST"
    return slot


def _objects(devstack: Any, prefix: str) -> list[str]:
    s3 = devstack.boto3_session().client("s3")
    listed = s3.list_objects_v2(Bucket=devstack.resources["AttachmentsBucket"]["Ref"], Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_body_larger_than_declared_is_refused_by_the_storage_and_not_stored(
    devstack: Any, uploader: dict[str, Any]
) -> None:
    sid = f"press-{uuid.uuid4().hex[:12]}"
    slot = _slot(uploader, sid, 10)
    posted = requests.post(
        slot["url"], data=slot["fields"], files={"file": ("report.txt", b"\0" * (8 * 1024 * 1024))}, timeout=60
    )
    assert posted.status_code == 400 and b"EntityTooLarge" in posted.content, posted.text[:300]
    assert _objects(devstack, f"uploads/{uploader['tenant_id']}/") == []
    # The same slot with the declared size works, once for its own key only
    ok = requests.post(slot["url"], data=slot["fields"], files={"file": ("report.txt", b"0123456789")}, timeout=30)
    assert ok.status_code == 204, ok.text[:300]
    assert _objects(devstack, f"uploads/{uploader['tenant_id']}/") == [slot["fields"]["key"]]
    moved = {**slot["fields"], "key": f"uploads/{uploader['tenant_id']}/{sid}/elsewhere"}
    refused = requests.post(slot["url"], data=moved, files={"file": ("report.txt", b"x")}, timeout=30)
    assert refused.status_code == 403, refused.text[:300]


def test_an_accepted_submission_copies_its_upload_to_its_attachments(devstack: Any, uploader: dict[str, Any]) -> None:
    sid = f"press-{uuid.uuid4().hex[:12]}"
    slot = _slot(uploader, sid, 11)
    posted = requests.post(slot["url"], data=slot["fields"], files={"file": ("report.txt", b"diagnostics")}, timeout=30)
    assert posted.status_code == 204, posted.text[:300]
    body = {
        "submission_id": sid,
        "contact": {"name": "Ann Upload", "email": "ann@contoso.com"},
        "machine": {"hostname": "PC-ANN"},
        "msg": "Report attached",
        "attachments": [{"filename": "report.txt", "content_type": "text/plain", "upload_id": slot["upload_id"]}],
    }
    answer = requests.post(
        f"{uploader['api']}/v1/tickets", json=body, headers={"Authorization": f"Bearer {uploader['key']}"}, timeout=30
    )
    assert answer.status_code == 202, answer.text
    [copied] = _objects(devstack, f"attachments/{uploader['tenant_id']}/{sid}/")
    assert copied.startswith(f"attachments/{uploader['tenant_id']}/{sid}/00-") and copied.endswith("-report.txt")
