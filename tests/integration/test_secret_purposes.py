"""Tenant secrets are sealed with their purpose in the KMS encryption context (so IAM can tell them apart),
and the one-off migration re-seals secrets sealed before purposes existed."""

from __future__ import annotations

import base64

import boto3
import pytest

from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.kms import KmsSecretBox, SecretDecryptionError
from helpdesk.admin.reseal import reseal_all
from helpdesk.domain.tenant import AutotaskSettings, SecretPurpose, Tenant


def test_a_secret_sealed_for_one_purpose_opens_for_that_purpose_only(aws_env: dict[str, str]) -> None:
    box = KmsSecretBox(aws_env["CREDENTIALS_KEY_ID"])
    sealed = box.seal("acme", "api@example.com:secret", purpose=SecretPurpose.AUTOTASK_API_KEY)
    assert box.open("acme", sealed, purpose=SecretPurpose.AUTOTASK_API_KEY) == "api@example.com:secret"
    for other in (SecretPurpose.WEBHOOK_SECRET, SecretPurpose.CALLOUT_TOKEN):
        with pytest.raises(SecretDecryptionError):
            box.open("acme", sealed, purpose=other)
    with pytest.raises(SecretDecryptionError):
        box.open("bravo", sealed, purpose=SecretPurpose.AUTOTASK_API_KEY)


def test_the_encryption_context_names_tenant_and_purpose(aws_env: dict[str, str]) -> None:
    box = KmsSecretBox(aws_env["CREDENTIALS_KEY_ID"])
    sealed = box.seal("acme", "whsec", purpose=SecretPurpose.WEBHOOK_SECRET)
    # What an IAM condition on kms:EncryptionContext:purpose sees: exactly this context decrypts it.
    plain = boto3.client("kms").decrypt(
        CiphertextBlob=base64.b64decode(sealed), EncryptionContext={"tenant_id": "acme", "purpose": "webhook-secret"}
    )["Plaintext"]
    assert plain == b"whsec"


def _legacy_seal(key_id: str, tenant_id: str, plaintext: str) -> str:
    blob = boto3.client("kms").encrypt(
        KeyId=key_id, Plaintext=plaintext.encode(), EncryptionContext={"tenant_id": tenant_id}
    )["CiphertextBlob"]
    return base64.b64encode(blob).decode()


def test_the_migration_reseals_old_secrets_with_their_purpose_once(aws_env: dict[str, str]) -> None:
    key = aws_env["CREDENTIALS_KEY_ID"]
    tenants = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    box = KmsSecretBox(key)
    tenants.create(
        Tenant(
            tenant_id="acme",
            name="Acme",
            autotask=AutotaskSettings(api_key_ciphertext=_legacy_seal(key, "acme", "user:pw")),
            webhook_secret_ciphertext=_legacy_seal(key, "acme", "whsec"),
            callout_token_ciphertext=box.seal("acme", "tok", purpose=SecretPurpose.CALLOUT_TOKEN),
        )
    )
    tenants.create(Tenant(tenant_id="bravo", name="Bravo"))
    with pytest.raises(SecretDecryptionError):  # before: no function can open the old ciphertexts
        box.open("acme", str(tenants.get("acme").autotask.api_key_ciphertext), purpose=SecretPurpose.AUTOTASK_API_KEY)  # type: ignore[union-attr]
    dry = reseal_all(tenants, box, dry_run=True)
    assert (dry.resealed, dry.current, dry.failed) == (2, 1, [])
    report = reseal_all(tenants, box)
    assert (report.resealed, report.current, report.failed) == (2, 1, [])
    acme = tenants.get("acme")
    assert acme is not None and acme.autotask.api_key_ciphertext and acme.webhook_secret_ciphertext
    assert box.open("acme", acme.autotask.api_key_ciphertext, purpose=SecretPurpose.AUTOTASK_API_KEY) == "user:pw"
    assert box.open("acme", acme.webhook_secret_ciphertext, purpose=SecretPurpose.WEBHOOK_SECRET) == "whsec"
    again = reseal_all(tenants, box)
    assert (again.resealed, again.current) == (0, 3)
