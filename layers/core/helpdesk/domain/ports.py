"""Ports: the small interfaces domain code depends on. Adapters in helpdesk.adapters implement them with AWS;
tests may use the same adapters against moto, or fakes."""

from __future__ import annotations

from typing import Protocol

from helpdesk.domain.rules import Classification, ClassificationRequest
from helpdesk.domain.tenant import Credential, CredentialKind, IssuedCredential, RulesVersion, SecretPurpose, Tenant


class ConflictError(RuntimeError):
    """Someone else changed the record first (optimistic locking) or it already exists."""


class TenantRepository(Protocol):
    def get(self, tenant_id: str) -> Tenant | None: ...

    def create(self, tenant: Tenant) -> Tenant:
        """Store a new tenant; ConflictError if the id is taken."""
        ...

    def save(self, tenant: Tenant) -> Tenant:
        """Store changes; ConflictError if the stored revision is not `tenant.revision`. Returns the new revision."""
        ...

    def list_tenants(self) -> list[Tenant]: ...

    def issue_credential(self, tenant_id: str, kind: CredentialKind, label: str = "") -> IssuedCredential: ...

    def resolve_credential(self, kind: CredentialKind, token: str) -> Credential | None:
        """The active credential of this kind matching the token, or None (unknown, revoked, wrong kind)."""
        ...

    def list_credentials(self, tenant_id: str, kind: CredentialKind) -> list[Credential]: ...

    def revoke_credential(self, tenant_id: str, kind: CredentialKind, credential_id: str) -> bool:
        """Revoke one of this tenant's credentials; False if no such credential belongs to the tenant."""
        ...

    def add_rules_version(self, tenant_id: str, source: str, author: str = "", note: str = "") -> RulesVersion: ...

    def get_rules_version(self, tenant_id: str, version: int) -> RulesVersion | None: ...

    def list_rules_versions(self, tenant_id: str) -> list[RulesVersion]: ...


class SecretBox(Protocol):
    """Encrypts small secrets bound to a tenant (KMS with encryption context tenant_id)."""

    def seal(self, tenant_id: str, plaintext: str, *, purpose: SecretPurpose) -> str: ...

    def open(self, tenant_id: str, ciphertext: str, *, purpose: SecretPurpose) -> str: ...


class Classifier(Protocol):
    """Scores a text against categories for ``ai_categorize`` (a model outside the rules sandbox).

    Never raises: a failure, timeout or refusal comes back as a Classification with every score 0 and ``error``."""

    model: str

    def classify(self, request: ClassificationRequest) -> Classification: ...


class ClassificationCache(Protocol):
    """Answers per tenant, by the question's key (a hash of text and categories); entries expire."""

    def get(self, tenant_id: str, request: ClassificationRequest) -> Classification | None: ...

    def put(self, tenant_id: str, answer: Classification) -> None: ...


class TenantLeases(Protocol):
    """Leases on a tenant's share of the dispatcher's concurrency (held across dispatcher instances)."""

    def try_acquire(self, tenant_id: str, until_epoch_s: float) -> str | None:
        """A lease handle valid until `until_epoch_s`, or None when the tenant already holds its whole share."""
        ...

    def release(self, tenant_id: str, handle: str) -> None: ...
