"""Admins get a clear 409 at a credential limit and can never revoke the last admin token."""

from __future__ import annotations

import pytest

from helpdesk.admin.errors import Conflict
from helpdesk.domain.tenant import CREDENTIAL_LIMITS, CredentialKind, Tenant
from tests.unit.admin.fakes import MemoryTenants, make_service


def test_the_documented_limits_are_the_ones_enforced() -> None:
    assert CREDENTIAL_LIMITS[CredentialKind.BUTTON_KEY] == 500
    assert CREDENTIAL_LIMITS[CredentialKind.ADMIN_TOKEN] == 50
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "admin-api.md").read_text()
    assert "500 active button keys" in doc and "50 active admin tokens" in doc


def test_one_button_key_over_the_limit_is_a_409_that_changes_nothing() -> None:
    repo = MemoryTenants(limits={**CREDENTIAL_LIMITS, CredentialKind.BUTTON_KEY: 2})
    service, *_ = make_service(tenants=repo)
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    service.create_button_key("acme", "one")
    service.create_button_key("acme", "two")
    with pytest.raises(Conflict) as refused:
        service.create_button_key("acme", "three")
    assert refused.value.status == 409 and "500" not in refused.value.message
    assert len(service.list_button_keys("acme")) == 2


def test_one_admin_token_over_the_limit_is_a_409() -> None:
    repo = MemoryTenants(limits={**CREDENTIAL_LIMITS, CredentialKind.ADMIN_TOKEN: 1})
    service, *_ = make_service(tenants=repo)
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    service.create_admin_token("acme", "first")
    with pytest.raises(Conflict):
        service.create_admin_token("acme", "second")


def test_the_last_admin_token_cannot_be_revoked_but_an_unknown_one_is_404() -> None:
    service, repo, *_ = make_service()
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    only = service.create_admin_token("acme", "only")
    with pytest.raises(Conflict):
        service.revoke_admin_token("acme", only.key.id)
    from helpdesk.admin.errors import NotFound

    with pytest.raises(NotFound):
        service.revoke_admin_token("acme", "admin_nope")
