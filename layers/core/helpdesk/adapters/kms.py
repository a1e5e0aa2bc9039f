"""KMS adapter: tenant secrets encrypted under the credentials key, bound to the tenant by encryption context.

A ciphertext copied to another tenant's record fails to decrypt (the context differs), so a bug elsewhere
cannot make one tenant's Autotask password usable for another tenant.
"""

from __future__ import annotations

import base64

from helpdesk import aws


class SecretDecryptionError(RuntimeError):
    """The ciphertext is not valid for this tenant (or the key is unavailable). Carries no secret material."""


class KmsSecretBox:
    def __init__(self, key_id: str) -> None:
        self._key_id = key_id

    def seal(self, tenant_id: str, plaintext: str) -> str:
        answer = aws.client("kms").encrypt(
            KeyId=self._key_id,
            Plaintext=plaintext.encode("utf-8"),
            EncryptionContext={"tenant_id": tenant_id},
        )
        return base64.b64encode(answer["CiphertextBlob"]).decode("ascii")

    def open(self, tenant_id: str, ciphertext: str) -> str:
        try:
            answer = aws.client("kms").decrypt(
                CiphertextBlob=base64.b64decode(ciphertext),
                EncryptionContext={"tenant_id": tenant_id},
            )
        except Exception as exc:  # botocore errors may echo request parameters: never chain them
            raise SecretDecryptionError(f"could not decrypt the tenant secret ({type(exc).__name__})") from None
        return bytes(answer["Plaintext"]).decode("utf-8")
