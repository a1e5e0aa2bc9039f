"""Any body, before or after authentication (deeply nested, malformed, huge), gets a 4xx from intake and admin,
never a 5xx: a 3 KB body nested 1,500 levels deep used to end in RecursionError (502)."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.domain.tenant import CredentialKind, Tenant
from tests.unit.admin.harness import AdminClient, load_admin_function

from .intake_handler import IntakeCaller, load_intake

NESTED = "[" * 1500 + "]" * 1500  # 3 KB
NESTED_OBJECT = '{"a":' * 1500 + "1" + "}" * 1500
BODIES = [NESTED, NESTED_OBJECT, '{"submission_id": ' + NESTED + "}", "{", "\x00\x01garbage"]


@pytest.fixture
def tenant(aws_env: dict[str, str]) -> dict[str, str]:
    repo = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    return {
        "button": repo.issue_credential("acme", CredentialKind.BUTTON_KEY).token,
        "admin": repo.issue_credential("acme", CredentialKind.ADMIN_TOKEN).token,
    }


def test_intake_answers_any_body_with_a_4xx_and_a_bad_key_learns_nothing(tenant: dict[str, str]) -> None:
    api = IntakeCaller(load_intake())
    for raw in BODIES:
        for token in (tenant["button"], "hbk_not-a-key"):
            for path in ("/v1/tickets", "/v1/uploads"):
                status, answer, _ = api("POST", path, resource=path, body=raw, token=token)
                assert 400 <= status < 500, (path, raw[:20], status, answer)
                assert status == 401 or token == tenant["button"], (path, raw[:20], status)


def test_admin_answers_any_body_with_a_4xx_and_a_bad_token_learns_nothing(
    tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "admin")
    handler, _routes = load_admin_function()
    client = AdminClient(handler)
    for raw in BODIES:
        for token in (tenant["admin"], "hba_not-a-token"):
            for method, path in (("PUT", "/v1/admin/settings"), ("PUT", "/v1/admin/rules"), ("POST", "/v1/admin/keys")):
                answer: Any = client.call(method, path, token, raw_body=raw)
                assert 400 <= answer.status < 500, (path, raw[:20], answer.status, answer.body[:200])
                if raw in (NESTED, NESTED_OBJECT):
                    assert answer.status == 401 or token == tenant["admin"], (path, answer.status)
