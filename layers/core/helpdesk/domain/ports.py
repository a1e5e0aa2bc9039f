"""Ports: the small interfaces domain code depends on. Adapters in helpdesk.adapters implement them with AWS;
tests may use the same adapters against moto, or fakes."""

from __future__ import annotations

from typing import Protocol

from helpdesk.domain.rules import Classification, ClassificationRequest
from helpdesk.domain.tenant import (
    Credential,
    CredentialKind,
    IntegrationTestSummary,
    IssuedCredential,
    RulesVersion,
    SecretPurpose,
    Tenant,
    TenantStatus,
)


class ConflictError(RuntimeError):
    """Someone else changed the record first (optimistic locking) or it already exists."""


class CredentialLimitReached(ConflictError):
    """The tenant already holds the most active credentials of this kind (domain.tenant.CREDENTIAL_LIMITS)."""


class LastCredential(ConflictError):
    """Revoking would leave fewer active credentials of this kind than the caller must keep."""


class TenantRepository(Protocol):
    def get(self, tenant_id: str) -> Tenant | None: ...

    def create(self, tenant: Tenant) -> Tenant:
        """Store a new tenant; ConflictError if the id is taken."""
        ...

    def save(self, tenant: Tenant) -> Tenant:
        """Store changes; ConflictError if the stored revision is not `tenant.revision`. Returns the new revision."""
        ...

    def list_tenants(self) -> list[Tenant]: ...

    def set_status(self, tenant_id: str, status: TenantStatus) -> Tenant:
        """Enable or disable a tenant: its profile and every one of its credentials (a disabled tenant's credentials
        resolve as `suspended`). Idempotent: calling it again repairs credentials a crash left unmarked."""
        ...

    def issue_credential(self, tenant_id: str, kind: CredentialKind, label: str = "") -> IssuedCredential:
        """A new credential; CredentialLimitReached when the tenant holds the most active ones of this kind."""
        ...

    def resolve_credential(self, kind: CredentialKind, token: str) -> Credential | None:
        """The active credential of this kind matching the token, or None (unknown, revoked, wrong kind)."""
        ...

    def list_credentials(self, tenant_id: str, kind: CredentialKind) -> list[Credential]: ...

    def revoke_credential(
        self, tenant_id: str, kind: CredentialKind, credential_id: str, *, keep_at_least: int = 0
    ) -> bool:
        """Revoke one of this tenant's credentials; False if no such credential belongs to the tenant.

        Atomic with the count of active ones: LastCredential if fewer than `keep_at_least` would stay active
        (two concurrent revocations can never both take the last two)."""
        ...

    def add_rules_version(self, tenant_id: str, source: str, author: str = "", note: str = "") -> RulesVersion: ...

    def get_rules_version(self, tenant_id: str, version: int) -> RulesVersion | None: ...

    def list_rules_versions(self, tenant_id: str) -> list[RulesVersion]: ...

    def save_integration_test(self, tenant_id: str, summary: IntegrationTestSummary) -> None:
        """Keep the tenant's last Integration Test (replacing the one before). Not part of the tenant's settings:
        it does not change their `revision`, so running the test never makes a settings save a conflict."""
        ...

    def last_integration_test(self, tenant_id: str) -> IntegrationTestSummary | None: ...


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
