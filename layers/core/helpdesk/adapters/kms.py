"""KMS adapter: tenant secrets encrypted under the credentials key, bound to the tenant *and* to their purpose by
the encryption context `{"tenant_id": <tenant>, "purpose": <SecretPurpose>}`.

A ciphertext copied to another tenant's record, or to another kind of secret, fails to decrypt (the context
differs). The purpose is also what IAM sees: the callout function's role may only `kms:Decrypt` with
`kms:EncryptionContext:purpose` = `webhook-secret`, so it cannot decrypt a tenant's Autotask API key even
though both live under the same key (template.yaml, pinned by tests/infra).

Ciphertexts sealed before purposes existed carry only `{"tenant_id"}`; no function opens them (that would
need a weaker IAM condition). `open_legacy` exists for the one-off migration (`helpdesk ops reseal-secrets`,
docs/operations.md), which runs with the operator's credentials.
"""

from __future__ import annotations

import base64

from helpdesk import aws
from helpdesk.domain.ports import SecretUnreadable
from helpdesk.domain.tenant import SecretPurpose


class SecretDecryptionError(SecretUnreadable):
    """KMS refused to decrypt (wrong tenant or purpose, or the key is unavailable). Carries no secret material."""


def encryption_context(tenant_id: str, purpose: SecretPurpose) -> dict[str, str]:
    return {"tenant_id": tenant_id, "purpose": purpose.value}


class KmsSecretBox:
    def __init__(self, key_id: str) -> None:
        self._key_id = key_id

    def seal(self, tenant_id: str, plaintext: str, *, purpose: SecretPurpose) -> str:
        answer = aws.client("kms").encrypt(
            KeyId=self._key_id,
            Plaintext=plaintext.encode("utf-8"),
            EncryptionContext=encryption_context(tenant_id, purpose),
        )
        return base64.b64encode(answer["CiphertextBlob"]).decode("ascii")

    def open(self, tenant_id: str, ciphertext: str, *, purpose: SecretPurpose) -> str:
        return self._decrypt(ciphertext, encryption_context(tenant_id, purpose))

    def open_legacy(self, tenant_id: str, ciphertext: str) -> str:
        """A secret sealed before purposes existed (tenant id only). For the migration, never for functions."""
        return self._decrypt(ciphertext, {"tenant_id": tenant_id})

    @staticmethod
    def _decrypt(ciphertext: str, context: dict[str, str]) -> str:
        try:
            answer = aws.client("kms").decrypt(CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=context)
        except Exception as exc:  # botocore errors may echo request parameters: never chain them
            raise SecretDecryptionError(f"could not decrypt the tenant secret ({type(exc).__name__})") from None
        return bytes(answer["Plaintext"]).decode("utf-8")
