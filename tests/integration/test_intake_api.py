"""The intake function in-process against moto: auth, validation, idempotency, status, uploads."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import boto3
import pytest

from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.domain.submission import MAX_ATTACHMENT_BYTES
from helpdesk.domain.tenant import CredentialKind, Tenant

from .intake_handler import IntakeCaller, load_intake


@pytest.fixture
def api(aws_env: dict[str, str]) -> IntakeCaller:
    return IntakeCaller(load_intake())


@pytest.fixture
def key(aws_env: dict[str, str]) -> str:
    repo = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    return repo.issue_credential("acme", CredentialKind.BUTTON_KEY).token


def body(sid: str = "sub-0001-abcd", **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "submission_id": sid,
        "contact": {"name": "Ann Smith", "email": "ann@contoso.com"},
        "machine": {"hostname": "PC-ANN"},
        "msg": "Printer is broken again and again",
    }
    data.update(over)
    return data


def _queue_messages(env: dict[str, str]) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    got = sqs.receive_message(QueueUrl=env["WORK_QUEUE_URL"], MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def _stored_items(env: dict[str, str]) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(env["SUBMISSIONS_TABLE"]).scan()["Items"]


def test_submit_answers_202_stores_and_queues_once(api: IntakeCaller, key: str, aws_env: dict[str, str]) -> None:
    status, answer, _ = api("POST", "/v1/tickets", body=body(), token=key)
    assert status == 202
    assert answer["id"] == "sub-0001-abcd" and answer["status"] == "queued" and answer["receipt"].startswith("hbr_")
    assert _queue_messages(aws_env) == [{"kind": "submission", "tenant_id": "acme", "submission_id": "sub-0001-abcd"}]
    # A retry returns the same answer and queues nothing new
    again = api("POST", "/v1/tickets", body=body(), token=key)
    assert again[0] == 202 and again[1] == answer
    assert len(_queue_messages(aws_env)) == 1
    # The status is readable with the receipt only
    status, view, _ = api(
        "GET",
        "/v1/tickets/sub-0001-abcd",
        resource="/v1/tickets/{id}",
        path_parameters={"id": "sub-0001-abcd"},
        token=key,
        headers={"X-Receipt": answer["receipt"]},
    )
    assert status == 200 and view["status"] == "queued" and view["ticket_number"] is None
    assert [e["event"] for e in view["timeline"]] == ["queued"]
    wrong = api(
        "GET",
        "/v1/tickets/sub-0001-abcd",
        resource="/v1/tickets/{id}",
        path_parameters={"id": "sub-0001-abcd"},
        token=key,
        headers={"X-Receipt": answer["receipt"] + "x"},
    )
    assert wrong[0] == 404


def test_same_id_with_another_body_is_a_conflict(api: IntakeCaller, key: str) -> None:
    assert api("POST", "/v1/tickets", body=body(), token=key)[0] == 202
    status, answer, _ = api("POST", "/v1/tickets", body=body(msg="something else"), token=key)
    assert status == 409 and answer["error"] == "conflict"


@pytest.mark.parametrize("token", [None, "hbk_unknown", "garbage"])
def test_unknown_or_missing_key_is_401_and_nothing_is_stored(
    api: IntakeCaller, key: str, aws_env: dict[str, str], token: str | None
) -> None:
    for payload in (body(), {"broken": True}):
        status, answer, headers = api("POST", "/v1/tickets", body=payload, token=token)
        assert status == 401 and answer["error"] == "unauthorized" and "www-authenticate" in headers
    assert _stored_items(aws_env) == [] and _queue_messages(aws_env) == []


def test_revoked_key_is_401(api: IntakeCaller, key: str, aws_env: dict[str, str]) -> None:
    repo = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    [credential] = repo.list_credentials("acme", CredentialKind.BUTTON_KEY)
    repo.revoke_credential("acme", CredentialKind.BUTTON_KEY, credential.credential_id)
    assert api("POST", "/v1/tickets", body=body(), token=key)[0] == 401


def test_bad_input_gives_field_level_422_and_nothing_is_stored(
    api: IntakeCaller, key: str, aws_env: dict[str, str]
) -> None:
    bad = body(contact={"name": "", "email": "nope"}, msg="")
    status, answer, _ = api("POST", "/v1/tickets", body=bad, token=key)
    assert status == 422 and answer["error"] == "validation_error"
    fields = {f["field"] for f in answer["fields"]}
    assert {"contact.name", "contact.email", "msg"} <= fields
    assert api("POST", "/v1/tickets", body="{not json", token=key)[0] == 422
    assert _stored_items(aws_env) == [] and _queue_messages(aws_env) == []


def test_validation_errors_are_said_for_a_person_never_in_validator_terms(api: IntakeCaller, key: str) -> None:
    status, answer, _ = api("POST", "/v1/tickets", body=body(contact={"name": "Al", "email": "al@@x"}), token=key)
    assert status == 422
    assert {"field": "contact.email", "message": "not a valid e-mail address"} in answer["fields"]
    assert answer["message"] == "The request is invalid: contact.email: not a valid e-mail address"
    status, answer, _ = api("POST", "/v1/tickets", body='{"submission_id": "sub-0001-abcd",', token=key)
    assert status == 422 and answer["message"] == "The body is not valid JSON."
    assert answer["fields"] == [{"field": "body", "message": "is not valid JSON"}]
    for text in (json.dumps(answer), json.dumps(api("POST", "/v1/tickets", body=body(sid="x!"), token=key)[1])):
        assert "pattern" not in text and "String should" not in text and "JSON decode error" not in text


def test_wrong_content_type_is_415(api: IntakeCaller, key: str, aws_env: dict[str, str]) -> None:
    status, answer, _ = api("POST", "/v1/tickets", body=body(), token=key, headers={"Content-Type": "text/plain"})
    assert status == 415 and answer["error"] == "unsupported_media_type", answer
    assert _stored_items(aws_env) == []


def test_oversized_inline_attachment_is_413(api: IntakeCaller, key: str, aws_env: dict[str, str]) -> None:
    data = base64.b64encode(b"\0" * (MAX_ATTACHMENT_BYTES + 10)).decode()
    files = [{"filename": "big.png", "content_type": "image/png", "data_base64": data}]
    status, answer, _ = api("POST", "/v1/tickets", body=body(attachments=files), token=key)
    assert (
        status == 413 and answer["error"] == "too_large" and answer["fields"][0]["field"] == "attachments.0.data_base64"
    )
    assert _stored_items(aws_env) == []


def test_inline_attachments_go_to_s3_scoped_by_tenant(api: IntakeCaller, key: str, aws_env: dict[str, str]) -> None:
    files = [{"filename": "shot.png", "content_type": "image/png", "data_base64": base64.b64encode(b"png").decode()}]
    assert api("POST", "/v1/tickets", body=body(attachments=files), token=key)[0] == 202
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=aws_env["ATTACHMENTS_BUCKET"])["Contents"]]
    # <n>-<16 hex digits of the body's fingerprint>-<name>: another body under this id never overwrites it
    assert len(keys) == 1 and re.fullmatch(r"attachments/acme/sub-0001-abcd/00-[0-9a-f]{16}-shot\.png", keys[0])


def test_large_files_use_a_presigned_upload_first(api: IntakeCaller, key: str, aws_env: dict[str, str]) -> None:
    upload = {"submission_id": "sub-0001-abcd", "filename": "report.zip", "content_type": "application/zip", "size": 5}
    status, ticket, _ = api("POST", "/v1/uploads", body=upload, token=key)
    assert status == 201 and ticket["method"] == "POST" and ticket["upload_id"].startswith("upl_")
    # A SigV4 presigned POST whose policy binds this key, the content type and the declared size
    fields = ticket["fields"]
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256" and "x-amz-signature" in fields
    assert "AWSAccessKeyId" not in fields and "signature" not in fields
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, 5] in policy["conditions"]
    assert {"key": f"uploads/acme/sub-0001-abcd/{ticket['upload_id']}"} in policy["conditions"]
    assert {"Content-Type": "application/zip"} in policy["conditions"]
    files = [{"filename": "report.zip", "content_type": "application/zip", "upload_id": ticket["upload_id"]}]
    # Before the upload happened the submission is refused (nothing stored)
    status, answer, _ = api("POST", "/v1/tickets", body=body(attachments=files), token=key)
    assert status == 422 and answer["fields"][0]["field"] == "attachments.0.upload_id"
    # The upload (moto intercepts requests in-process through botocore only, so use S3 directly; the devstack
    # test tests/e2e/test_uploads.py posts the form for real)
    boto3.client("s3").put_object(Bucket=aws_env["ATTACHMENTS_BUCKET"], Key=fields["key"], Body=b"12345")
    assert api("POST", "/v1/tickets", body=body(attachments=files), token=key)[0] == 202
    # Accepted: the upload is copied to the submission's attachments (uploads/ expires within a day)
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=aws_env["ATTACHMENTS_BUCKET"])["Contents"]]
    # <n>-<16 hex digits of the body's fingerprint>-<name>: another body under this id never overwrites it
    assert any(re.fullmatch(r"attachments/acme/sub-0001-abcd/00-[0-9a-f]{16}-report\.zip", k) for k in keys)


def test_uploads_are_scoped_to_their_submission(api: IntakeCaller, key: str, aws_env: dict[str, str]) -> None:
    upload = {"submission_id": "sub-other-0001", "filename": "r.zip", "content_type": "application/zip", "size": 5}
    ticket = api("POST", "/v1/uploads", body=upload, token=key)[1]
    boto3.client("s3").put_object(Bucket=aws_env["ATTACHMENTS_BUCKET"], Key=ticket["fields"]["key"], Body=b"1")
    files = [{"filename": "r.zip", "content_type": "application/zip", "upload_id": ticket["upload_id"]}]
    assert api("POST", "/v1/tickets", body=body(attachments=files), token=key)[0] == 422


def test_health_and_openapi_need_no_key(api: IntakeCaller) -> None:
    assert api("GET", "/v1/health")[0] == 200
    status, spec, _ = api("GET", "/v1/openapi.json")
    assert status == 200 and "/v1/tickets" in spec["paths"]


@pytest.mark.parametrize(
    ("name", "expected"), [("intake_submit", 202), ("intake_submit_invalid", 422), ("intake_upload", 201)]
)
def test_sample_events_run_through_the_handler(api: IntakeCaller, key: str, name: str, expected: int) -> None:
    from pathlib import Path

    from devstack.events import lambda_context

    event = json.loads((Path(__file__).resolve().parents[2] / "events" / f"{name}.json").read_text())
    for headers in (event["headers"], event["multiValueHeaders"]):
        value = headers["Authorization"]
        headers["Authorization"] = [f"Bearer {key}"] if isinstance(value, list) else f"Bearer {key}"
    answer = api.module.lambda_handler(event, lambda_context("intake"))
    assert answer["statusCode"] == expected, answer["body"]


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "/v1/tickets", body()),
        ("GET", "/v1/tickets/sub-0001-abcd", None),
        (
            "POST",
            "/v1/uploads",
            {"submission_id": "sub-0001-abcd", "filename": "r.zip", "content_type": "application/zip", "size": 5},
        ),
        ("GET", "/v1/notifications", None),
        ("POST", "/v1/tickets", {"not": "valid"}),
    ],
)
def test_a_disabled_tenants_button_key_gets_403_on_every_route_and_nothing_is_stored(
    api: IntakeCaller, key: str, aws_env: dict[str, str], method: str, path: str, payload: Any
) -> None:
    from helpdesk.domain.tenant import TenantStatus

    DynamoTenantRepository(aws_env["TENANTS_TABLE"]).set_status("acme", TenantStatus.DISABLED)
    resource, params = (path, None)
    if path.startswith("/v1/tickets/"):
        resource, params = "/v1/tickets/{id}", {"id": path.rsplit("/", 1)[-1]}
    status, answer, _ = api(
        method, path, resource=resource, path_parameters=params, body=payload, token=key, headers={"X-Receipt": "hbr_x"}
    )
    assert status == 403 and answer["error"] == "tenant_disabled", answer
    assert _stored_items(aws_env) == [] and _queue_messages(aws_env) == []
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=aws_env["ATTACHMENTS_BUCKET"])


def test_a_re_enabled_tenants_button_key_works_again(api: IntakeCaller, key: str, aws_env: dict[str, str]) -> None:
    from helpdesk.domain.tenant import TenantStatus

    repo = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    repo.set_status("acme", TenantStatus.DISABLED)
    repo.set_status("acme", TenantStatus.ACTIVE)
    assert api("POST", "/v1/tickets", body=body(), token=key)[0] == 202


def test_a_decoding_fault_of_ours_is_raised_not_passed_off_as_a_bad_body(
    api: IntakeCaller, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # UnicodeDecodeError from a valid body's processing is a bug to see (a function error), never a 400 "not UTF-8"
    import sys

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    monkeypatch.setattr(sys.modules["routes"].SERVICE, "submit", broken)
    with pytest.raises(UnicodeDecodeError):
        api("POST", "/v1/tickets", body=body(), token=key)
    # while the same error from the body itself is the caller's: 400, after the key check
    status, answer, _ = api(
        "POST", "/v1/tickets", body=json.dumps(body()).encode().replace(b"Ann", b"\xc0\xaf"), token=key
    )
    assert status == 400 and answer["error"] == "malformed" and "UTF-8" in answer["message"]
    status, _, _ = api(
        "POST", "/v1/tickets", body=json.dumps(body()).encode().replace(b"Ann", b"\xc0\xaf"), token="hbk_x"
    )
    assert status == 401
