"""The DynamoDB tenant repository against moto, with the tables exactly as template.yaml defines them."""

from __future__ import annotations

import pytest

from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.kms import KmsSecretBox, SecretDecryptionError
from helpdesk.domain.ports import ConflictError
from helpdesk.domain.tenant import CredentialKind, SecretPurpose, Tenant


@pytest.fixture
def repo(aws_env: dict[str, str]) -> DynamoTenantRepository:
    return DynamoTenantRepository(aws_env["TENANTS_TABLE"])


def test_tenant_round_trip_and_optimistic_locking(repo: DynamoTenantRepository) -> None:
    # Given a created tenant
    created = repo.create(Tenant(tenant_id="acme-msp", name="Acme MSP"))
    assert created.revision == 1
    # When it is saved from the current revision, Then the revision moves on
    saved = repo.save(created.model_copy(update={"name": "Acme"}))
    assert saved.revision == 2 and repo.get("acme-msp") == saved
    # And a save from a stale copy is refused instead of silently overwriting
    with pytest.raises(ConflictError):
        repo.save(created)
    with pytest.raises(ConflictError):
        repo.create(Tenant(tenant_id="acme-msp", name="again"))
    assert [t.tenant_id for t in repo.list_tenants()] == ["acme-msp"]


def test_credentials_are_stored_hashed_scoped_and_revocable(
    repo: DynamoTenantRepository, aws_env: dict[str, str]
) -> None:
    repo.create(Tenant(tenant_id="t-one", name="One"))
    repo.create(Tenant(tenant_id="t-two", name="Two"))
    issued = repo.issue_credential("t-one", CredentialKind.BUTTON_KEY, "front desk")

    assert repo.resolve_credential(CredentialKind.BUTTON_KEY, issued.token).tenant_id == "t-one"
    # the same token is not an admin token, and a near miss resolves to nothing
    assert repo.resolve_credential(CredentialKind.ADMIN_TOKEN, issued.token) is None
    assert repo.resolve_credential(CredentialKind.BUTTON_KEY, issued.token + "x") is None
    # the token itself is nowhere in the table
    import boto3

    items = boto3.client("dynamodb").scan(TableName=aws_env["TENANTS_TABLE"])["Items"]
    assert issued.token not in str(items)
    # another tenant cannot revoke it; its owner can
    assert not repo.revoke_credential("t-two", CredentialKind.BUTTON_KEY, issued.credential.credential_id)
    assert repo.revoke_credential("t-one", CredentialKind.BUTTON_KEY, issued.credential.credential_id)
    assert repo.resolve_credential(CredentialKind.BUTTON_KEY, issued.token) is None
    assert [c.active for c in repo.list_credentials("t-one", CredentialKind.BUTTON_KEY)] == [False]


def test_rules_versions_are_numbered_in_order(repo: DynamoTenantRepository) -> None:
    repo.create(Tenant(tenant_id="t-rules", name="Rules"))
    first = repo.add_rules_version("t-rules", "priority = 'High'")
    second = repo.add_rules_version("t-rules", "priority = 'Low'", note="calmer")
    assert (first.version, second.version) == (1, 2)
    assert repo.get_rules_version("t-rules", 1).source == "priority = 'High'"
    assert [v.version for v in repo.list_rules_versions("t-rules")] == [1, 2]


def test_kms_secrets_are_bound_to_their_tenant(aws_env: dict[str, str]) -> None:
    box = KmsSecretBox(aws_env["CREDENTIALS_KEY_ID"])
    sealed = box.seal("t-one", "api@example.com:p@ss:word", purpose=SecretPurpose.AUTOTASK_API_KEY)
    assert "p@ss" not in sealed
    assert box.open("t-one", sealed, purpose=SecretPurpose.AUTOTASK_API_KEY) == "api@example.com:p@ss:word"
    with pytest.raises(SecretDecryptionError) as caught:
        box.open("t-two", sealed, purpose=SecretPurpose.AUTOTASK_API_KEY)
    assert "p@ss" not in str(caught.value)
