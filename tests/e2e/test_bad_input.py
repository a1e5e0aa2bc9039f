"""Bad input over real HTTP (the session devstack): garbage, oversized bodies, wrong content types, invalid UTF-8 and
header injection on the callout/webhook routes and the button agent API. Every answer is a clear 4xx (JSON with
an error code, or API Gateway's own refusal), never a 5xx, and nothing is stored: no submission, timeline event,
sync marker or attachment appears for the tenant, and no work is queued for it.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.client_env import StackEnv
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.domain.tenant import CredentialKind, Tenant

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


@pytest.fixture(scope="module")
def victim(devstack: Any) -> Iterator[dict[str, Any]]:
    """A tenant of its own (nothing else writes under its id), its button key and callout token."""
    stack_env = StackEnv(devstack.env)
    stack_env.apply()
    try:
        tenants = DynamoTenantRepository(devstack.resources["TenantsTable"]["Ref"])
        tenant_id = f"e2e-bad-{uuid.uuid4().hex[:8]}"
        tenants.create(Tenant(tenant_id=tenant_id, name="Bad Input MSP"))
        yield {
            "tenant_id": tenant_id,
            "button": tenants.issue_credential(tenant_id, CredentialKind.BUTTON_KEY, label="bad").token,
            "callout": tenants.issue_credential(tenant_id, CredentialKind.CALLOUT_TOKEN, label="bad").token,
            "api": devstack.api_url,
        }
    finally:
        stack_env.restore()


def _stored(devstack: Any, tenant_id: str) -> dict[str, int]:
    """Everything stored under the tenant's id: DynamoDB items (submissions, events, markers) and S3 objects."""
    table = devstack.boto3_session().client("dynamodb")
    items = 0
    kwargs: dict[str, Any] = {
        "TableName": devstack.resources["SubmissionsTable"]["Ref"],
        "FilterExpression": "contains(pk, :t)",
        "ExpressionAttributeValues": {":t": {"S": f"#{tenant_id}#"}},
        "Select": "COUNT",
    }
    for _ in range(100):  # bounded paging
        page = table.scan(**kwargs)
        items += page["Count"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    s3 = devstack.boto3_session().client("s3")
    objects = s3.list_objects_v2(
        Bucket=devstack.resources["AttachmentsBucket"]["Ref"], Prefix=f"attachments/{tenant_id}/"
    ).get("KeyCount", 0)
    return {"items": items, "objects": objects}


def _clear_4xx(answer: requests.Response) -> None:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    body = answer.json()  # always JSON
    assert isinstance(body, dict) and (body.get("error") or body.get("message")), body


def _raw(api_url: str, request: bytes, timeout: float = 30) -> tuple[int, bytes]:
    """Send bytes as they are (requests refuses CR/LF in header values) and return (status, raw head + body)."""
    host, _, rest = api_url.removeprefix("http://").partition(":")
    port = int(rest.split("/", 1)[0])
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        for _ in range(1000):  # bounded
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            data = b"".join(chunks)
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(body) >= length:
                    break
    data = b"".join(chunks)
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data


def _stage_path(api_url: str) -> str:
    after_host = api_url.removeprefix("http://").partition("/")[2]
    return f"/{after_host}" if after_host else ""


GARBAGE: list[tuple[str, bytes, str]] = [
    ("empty", b"", "application/json"),
    ("random bytes", bytes(range(256)) * 4, "application/octet-stream"),
    ("invalid UTF-8 JSON", b'{"id": "\xff\xfe\xfa", "x": "\xc3\x28"}', "application/json"),
    ("truncated JSON", b'{"id": 29690001, "title": "unterminated', "application/json"),
    ("JSON array", b"[1, 2, 3]", "application/json"),
    ("JSON scalar", b"42", "application/json"),
    ("deeply nested JSON", b'{"a":' * 5000 + b"1" + b"}" * 5000, "application/json"),
    ("XML with an entity", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "text/xml"),
    ("form without an id", b"foo=bar&baz=%ff%fe", "application/x-www-form-urlencoded"),
    ("a negative id", b'{"id": -5}', "application/json"),
    ("a huge id", b'{"id": 1' + b"0" * 400 + b"}", "application/json"),
    ("NUL bytes", b'{"id": "\x00\x00"}', "application/json"),
    ("a wrong content type", b'{"id": 29690001}', "image/png"),
    (
        "a multipart body",
        b"--x\r\nContent-Disposition: form-data; name=id\r\n\r\n\xff\r\n--x--",
        "multipart/form-data; boundary=x",
    ),
]


@pytest.mark.parametrize("route", ["callouts", "webhooks"])
def test_garbage_to_the_notification_routes_is_a_clear_4xx_and_stores_nothing(
    devstack: Any, victim: dict[str, Any], route: str
) -> None:
    before = _stored(devstack, victim["tenant_id"])
    refused = []
    for label, body, content_type in GARBAGE:
        for token in (victim["callout"], "not-a-token", "%00%0d%0a", "x" * 300):
            answer = requests.post(
                f"{victim['api']}/v1/{route}/{token}", data=body, headers={"Content-Type": content_type}, timeout=60
            )
            if answer.status_code == 200 and answer.json().get("status") == "ignored":
                continue  # a well-formed webhook about something we do not follow: nothing stored either
            _clear_4xx(answer)
            refused.append((label, answer.status_code))
    assert _stored(devstack, victim["tenant_id"]) == before
    assert len(refused) >= len(GARBAGE) * 3


@pytest.mark.parametrize("path", ["/v1/callouts/{token}", "/v1/webhooks/{token}", "/v1/tickets"])
def test_oversized_bodies_are_refused_before_anything_is_stored(
    devstack: Any, victim: dict[str, Any], path: str
) -> None:
    before = _stored(devstack, victim["tenant_id"])
    url = victim["api"] + path.format(token=victim["callout"])
    headers = {"Authorization": f"Bearer {victim['button']}", "Content-Type": "application/json"}
    # above our own limits (refused by the first check that fails: signature, schema or size); above API
    # Gateway's 10 MB (413 from the gateway)
    for size in (1 * MB + 1, 11 * MB):
        body = b'{"id": 29690001, "pad": "' + b"a" * size + b'"}'
        answer = requests.post(url, data=body, headers=headers, timeout=120)
        _clear_4xx(answer)
        assert size < 10 * MB or answer.status_code == 413, (size, answer.status_code, answer.text[:200])
    # Between Lambda's 6 MB invoke limit and API Gateway's 10 MB: the function is never invoked (Lambda refuses
    # the payload), so nothing can be stored; API Gateway answers 413 with the API's own error body (the
    # template's REQUEST_TOO_LARGE gateway response), which the agent treats as final.
    for size in (7 * MB, 11 * MB):
        body = b'{"id": 29690001, "pad": "' + b"a" * size + b'"}'
        answer = requests.post(url, data=body, headers=headers, timeout=120)
        assert answer.status_code == 413, (answer.status_code, answer.text[:200])
        assert answer.json()["error"] == "too_large" and "upload" in answer.json()["message"]
    assert _stored(devstack, victim["tenant_id"]) == before


def test_submissions_with_wrong_content_types_or_invalid_utf8_are_refused_and_store_nothing(
    devstack: Any, victim: dict[str, Any]
) -> None:
    before = _stored(devstack, victim["tenant_id"])
    good = {
        "submission_id": f"bad-{uuid.uuid4().hex[:12]}",
        "contact": {"name": "Alice Anders", "email": "alice@contoso.com"},
        "machine": {"hostname": "CONTOSO-PC1"},
        "msg": "Printer on fire",
    }
    raw = json.dumps(good).encode()
    cases = [
        ("text/plain", raw),
        ("application/x-www-form-urlencoded", b"submission_id=x&msg=y"),
        ("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--"),
        ("application/xml", b"<submission/>"),
        ("application/json", raw[:-5]),  # truncated
        ("application/json", b"\xef\xbb\xbf" + b"[]"),
    ]
    for content_type, body in cases:
        good["submission_id"] = f"bad-{uuid.uuid4().hex[:12]}"
        answer = requests.post(
            f"{victim['api']}/v1/tickets",
            data=body,
            headers={"Authorization": f"Bearer {victim['button']}", "Content-Type": content_type},
            timeout=60,
        )
        assert 400 <= answer.status_code < 500, (content_type, body[:80], answer.status_code, answer.text[:200])
        _clear_4xx(answer)
    assert _stored(devstack, victim["tenant_id"]) == before


INVALID_UTF8 = [
    ("a lone Latin-1 byte", b"caf\xe9"),
    ("a truncated sequence", b"\xe2\x82"),
    ("an overlong encoding", b"\xc0\xaf"),
    ("a UTF-16 surrogate as UTF-8", b"\xed\xa0\x80"),
    ("bytes that are never UTF-8", b"\xff\xfe"),
]


def _submission(sid: str, msg: str) -> dict[str, Any]:
    return {
        "submission_id": sid,
        "contact": {"name": "Alice Anders", "email": "alice@contoso.com"},
        "machine": {"hostname": "CONTOSO-PC1"},
        "msg": msg,
    }


@pytest.mark.parametrize(("label", "bad"), INVALID_UTF8, ids=[label for label, _ in INVALID_UTF8])
def test_invalid_utf8_in_a_submission_is_a_400_naming_the_byte_and_stores_nothing(
    devstack: Any, victim: dict[str, Any], label: str, bad: bytes
) -> None:
    # API Gateway would decode a text body with U+FFFD for the bad bytes; JSON bodies are binary media
    # (template.yaml), so intake sees the bytes as sent and refuses them instead of storing a guess.
    before = _stored(devstack, victim["tenant_id"])
    sid = f"bad-utf8-{uuid.uuid4().hex[:12]}"
    raw = json.dumps(_submission(sid, "Printer BAD on fire")).encode().replace(b"BAD", bad)
    answer = requests.post(
        f"{victim['api']}/v1/tickets",
        data=raw,
        headers={"Authorization": f"Bearer {victim['button']}", "Content-Type": "application/json; charset=utf-8"},
        timeout=60,
    )
    assert answer.status_code == 400, (label, answer.status_code, answer.text[:200])
    assert answer.json()["error"] == "malformed"
    with pytest.raises(UnicodeDecodeError) as where:
        raw.decode("utf-8")
    assert "UTF-8" in answer.json()["message"] and f"byte {where.value.start} " in answer.json()["message"]
    # a bad key still learns nothing about the body
    wrong_key = requests.post(
        f"{victim['api']}/v1/tickets",
        data=raw,
        headers={"Authorization": "Bearer hbk_wrong", "Content-Type": "application/json"},
        timeout=60,
    )
    assert wrong_key.status_code == 401
    assert _stored(devstack, victim["tenant_id"]) == before


def test_text_in_any_script_reaches_intake_exactly_as_sent(devstack: Any, victim: dict[str, Any]) -> None:
    sid = f"utf8-{uuid.uuid4().hex[:12]}"
    msg = "Café ☕ crashed: 日本語のファイル 😀, Ærøskøbing, naïve \ufffd kept as sent"
    answer = requests.post(
        f"{victim['api']}/v1/tickets",
        data=json.dumps(_submission(sid, msg), ensure_ascii=False).encode("utf-8"),
        headers={"Authorization": f"Bearer {victim['button']}", "Content-Type": "application/json"},
        timeout=60,
    )
    assert answer.status_code == 202, answer.text[:300]
    item = (
        devstack.boto3_session()
        .client("dynamodb")
        .get_item(
            TableName=devstack.resources["SubmissionsTable"]["Ref"],
            Key={"pk": {"S": f"SUB#{victim['tenant_id']}#{sid}"}, "sk": {"S": "SUBMISSION"}},
        )["Item"]
    )
    assert json.loads(item["f_msg"]["S"]) == msg  # one attribute per field


@pytest.fixture(scope="module")
def victim_admin(devstack: Any, victim: dict[str, Any]) -> str:
    stack_env = StackEnv(devstack.env)
    stack_env.apply()
    try:
        tenants = DynamoTenantRepository(devstack.resources["TenantsTable"]["Ref"])
        return tenants.issue_credential(victim["tenant_id"], CredentialKind.ADMIN_TOKEN, label="bad").token
    finally:
        stack_env.restore()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/v1/admin/settings", b'{"name": "Bad BAD MSP"}'),
        ("PUT", "/v1/admin/settings", b'{"notifications": {"templates": {"created": "Ticket BAD"}}}'),
        ("POST", "/v1/admin/rules", b'{"source": "subject = \'BAD\'\\n"}'),
        ("POST", "/v1/admin/rules/validate", b'{"source": "subject = \'BAD\'\\n"}'),
    ],
)
def test_the_admin_api_refuses_invalid_utf8_and_non_json_bodies_and_changes_nothing(
    devstack: Any, victim: dict[str, Any], victim_admin: str, method: str, path: str, body: bytes
) -> None:
    auth = {"Authorization": f"Bearer {victim_admin}"}
    settings = requests.get(f"{victim['api']}/v1/admin/settings", headers=auth, timeout=60)
    assert settings.status_code == 200, settings.text[:200]
    for _, bad in INVALID_UTF8:
        answer = requests.request(
            method,
            f"{victim['api']}{path}",
            data=body.replace(b"BAD", bad),
            headers={**auth, "Content-Type": "application/json"},
            timeout=60,
        )
        assert answer.status_code == 400, (path, bad, answer.status_code, answer.text[:200])
        assert answer.json()["error"] == "malformed" and "UTF-8" in answer.json()["message"]
    # the same body as another media type: 415, whatever the bytes
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        answer = requests.request(
            method,
            f"{victim['api']}{path}",
            data=body.replace(b"BAD", b"ok"),
            headers={**auth, "Content-Type": content_type},
            timeout=60,
        )
        assert answer.status_code == 415, (path, content_type, answer.status_code, answer.text[:200])
        assert answer.json()["error"] == "unsupported_media_type"
    after = requests.get(f"{victim['api']}/v1/admin/settings", headers=auth, timeout=60)
    assert after.json() == settings.json()


def _settled(devstack: Any, tenant_id: str, timeout_s: float = 60.0) -> dict[str, int]:
    """What is stored once the dispatcher has finished with the tenant's earlier (accepted) submissions: two reads
    a few seconds apart that agree (bounded)."""
    import time

    deadline = time.monotonic() + timeout_s
    last = _stored(devstack, tenant_id)
    while time.monotonic() < deadline:
        time.sleep(3)
        now = _stored(devstack, tenant_id)
        if now == last:
            return now
        last = now
    return last


def test_header_injection_is_refused_and_never_reflected(devstack: Any, victim: dict[str, Any]) -> None:
    before = _settled(devstack, victim["tenant_id"])
    stage = _stage_path(victim["api"])
    host = victim["api"].removeprefix("http://").split("/", 1)[0]
    body = b'{"id": 29690001}'
    requests_to_send = [
        # CR/LF smuggled in the path (response splitting)
        f"GET {stage}/v1/tickets/x%0d%0aSet-Cookie:%20injected=1 HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {victim['button']}\r\nX-Receipt: r\r\nConnection: close\r\n\r\n".encode(),
        f"POST {stage}/v1/callouts/{victim['callout']}%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body,
        # a bare LF inside a header value (obsolete line folding / injection attempt)
        f"POST {stage}/v1/webhooks/{victim['callout']} HTTP/1.1\r\nHost: {host}\r\n"
        f"X-Hook-Signature: abc\n X-Injected: 1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body,
        # a NUL and non-ASCII bytes in the Authorization header
        f"POST {stage}/v1/tickets HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer \x00abc\r\n".encode()
        + b"X-Receipt: \xff\xfe\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body,
        # two Content-Length headers (request smuggling)
        f"POST {stage}/v1/callouts/{victim['callout']} HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nContent-Length: 3\r\n"
        f"Connection: close\r\n\r\n".encode()
        + body,
    ]
    for raw in requests_to_send:
        status, data = _raw(victim["api"], raw)
        head = data.partition(b"\r\n\r\n")[0].lower()
        assert 400 <= status < 500, (raw[:120], status, data[:300])
        assert b"set-cookie: injected" not in head and b"x-injected" not in head, head
    assert _stored(devstack, victim["tenant_id"]) == before


def test_the_agents_largest_inline_body_still_fits_lambdas_payload_limit(devstack: Any, victim: dict[str, Any]) -> None:
    # JSON bodies reach the function base64-encoded (4/3 larger): the reference agent's inline budget must still
    # fit Lambda's 6 MB request payload, or its presses with screenshots would meet API Gateway's 413.
    import base64

    from helpdesk_cli.agent.files import INLINE_BUDGET_BYTES, INLINE_MAX_BYTES

    sid = f"inline-max-{uuid.uuid4().hex[:12]}"
    count = INLINE_BUDGET_BYTES // INLINE_MAX_BYTES
    body = _submission(sid, "Screens attached " + "x" * 7900)
    body["append"] = "y" * 32000
    body["attachments"] = [
        {
            "filename": f"screen{n}.png",
            "content_type": "image/png",
            "data_base64": base64.b64encode(bytes([n]) * INLINE_MAX_BYTES).decode(),
        }
        for n in range(count)
    ]
    answer = requests.post(
        f"{victim['api']}/v1/tickets",
        json=body,
        headers={"Authorization": f"Bearer {victim['button']}"},
        timeout=120,
    )
    assert answer.status_code == 202, (answer.status_code, answer.text[:300])
