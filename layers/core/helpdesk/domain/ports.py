"""Ports: the storage, queue, secret and model interfaces use cases (and pure domain code) depend on.

Adapters in helpdesk.adapters implement them with AWS (DynamoDB, SQS, S3, KMS, Bedrock); the Autotask client
implements the picklist ports. Tests use the same adapters against moto, or in-memory fakes. The Autotask and
rules-function ports are in helpdesk.ports, the admin's Autotask gateway in helpdesk.admin.ports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from helpdesk.domain.rules import Classification, ClassificationRequest
from helpdesk.domain.submission import StoredEvent, Submission, TimelineEvent
from helpdesk.domain.sync import SyncState
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
from helpdesk.domain.work import SubmissionWork, SyncWork


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


class SecretUnreadable(RuntimeError):
    """A sealed secret cannot be opened: not sealed for this tenant and purpose, or the key is unavailable.
    Carries no secret material."""


class SecretBox(Protocol):
    """Encrypts small secrets bound to a tenant (KMS with encryption context tenant_id and purpose)."""

    def seal(self, tenant_id: str, plaintext: str, *, purpose: SecretPurpose) -> str: ...

    def open(self, tenant_id: str, ciphertext: str, *, purpose: SecretPurpose) -> str:
        """Raises SecretUnreadable when the ciphertext cannot be opened for this tenant and purpose."""
        ...


class LegacySecretBox(SecretBox, Protocol):
    """The secret box of the one-off re-seal migration (admin/reseal.py, run by operators, never a function)."""

    def open_legacy(self, tenant_id: str, ciphertext: str) -> str:
        """A secret sealed before purposes existed (encryption context tenant id only)."""
        ...


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


# ------------------------------------------------------------------------------------ submissions and notifications


class SubmissionRepository(Protocol):
    """Submissions, their timelines and the (tenant, ticket id) -> submission link."""

    def create(self, submission: Submission, *, first_event: TimelineEvent | None = None) -> Submission:
        """Store a new submission (revision 1) and, atomically with it, its first timeline event;
        ConflictError (and nothing stored) if (tenant, submission id) exists."""
        ...

    def get(self, tenant_id: str, submission_id: str) -> Submission | None: ...

    def get_with_events(
        self, tenant_id: str, submission_id: str, *, limit: int = 200
    ) -> tuple[Submission | None, list[TimelineEvent]]:
        """The submission and its timeline (oldest first), read together (one round trip in DynamoDB)."""
        ...

    def save(self, submission: Submission, *, events: Sequence[TimelineEvent] = ()) -> Submission:
        """Store changes; ConflictError (and nothing written) if the stored revision is not
        `submission.revision`. `events` are appended atomically with the change: exactly once because the
        change is (the revision condition), so they must belong to a transition that happens once (claim,
        created, failed, blocked). Refreshes the TTL and, once `progress.ticket_id` is set, the (tenant,
        ticket id) link. Returns the new revision."""
        ...

    def find_by_ticket(self, tenant_id: str, ticket_id: int) -> Submission | None:
        """The submission whose Autotask ticket this is (None for tickets not created by us)."""
        ...

    def append_event(self, tenant_id: str, submission_id: str, event: TimelineEvent) -> bool:
        """Add a timeline event; False if an event with the same non-empty event_id already exists."""
        ...

    def list_events(self, tenant_id: str, submission_id: str, *, limit: int = 200) -> list[TimelineEvent]:
        """Timeline, oldest first."""
        ...

    def list_recent(self, tenant_id: str, *, limit: int = 50) -> list[Submission]:
        """The tenant's newest submissions first (admin views, ops)."""
        ...

    def page(
        self, tenant_id: str, *, limit: int, after: str | None = None, since: datetime | None = None
    ) -> tuple[list[tuple[str, Submission]], bool]:
        """Up to `limit` (<= 100) submissions newest first, each with its position (`<created>#<id>`), starting
        after the position `after`, only those created after `since`; and whether more follow."""
        ...


class FeedStore(Protocol):
    """What GET /v1/notifications reads: submissions and their stored timeline events."""

    def get(self, tenant_id: str, submission_id: str) -> Submission | None: ...

    def events_since(self, tenant_id: str, submission_id: str, since: datetime) -> list[StoredEvent]:
        """One submission's events recorded at or after `since`, oldest first (bounded)."""
        ...

    def device_events_since(self, tenant_id: str, device_id: str, since: datetime) -> list[StoredEvent]:
        """The events of every submission sent with this device id, at or after `since` (bounded)."""
        ...


class SyncStateStore(Protocol):
    """The sync baseline of each submission (helpdesk.domain.sync.SyncState)."""

    def get(self, tenant_id: str, submission_id: str) -> SyncState | None: ...

    def save(self, tenant_id: str, submission_id: str, state: SyncState) -> SyncState:
        """ConflictError if the stored revision is not `state.revision`; returns the new revision."""
        ...


class CredentialLookup(Protocol):
    """What the callout function reads of tenants: the tenant and the credential a notification URL presents."""

    def get(self, tenant_id: str) -> Tenant | None: ...

    def resolve_credential(self, kind: CredentialKind, token: str) -> Credential | None: ...


class SyncMarkers(Protocol):
    """The ticket -> submission link and the per-ticket "sync pending" marker that collapses bursts."""

    def submission_for_ticket(self, tenant_id: str, ticket_id: int) -> str | None:
        """The submission id whose ticket this is (None: not created by a button press)."""
        ...

    def schedule(self, tenant_id: str, ticket_id: int, *, source: str, now: datetime, window_seconds: int) -> bool:
        """Record a notification; True if this one must enqueue the sync (none pending in the window)."""
        ...

    def release(self, tenant_id: str, ticket_id: int) -> None:
        """Forget the pending sync (the enqueue failed): the next notification schedules again."""
        ...


# ------------------------------------------------------------------------------------------------------- work queue


class WorkQueue(Protocol):
    """The work queue (SQS): intake and the admin's re-queue send SubmissionWork, the callout function SyncWork."""

    def send(self, message: SubmissionWork | SyncWork, *, delay_seconds: int = 0) -> str: ...


# ------------------------------------------------------------------------------------------------------ attachments


class BlobStore(Protocol):
    """Attachment bytes written and checked by intake (S3)."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def copy(self, source_key: str, key: str) -> None: ...

    def size(self, key: str) -> int | None: ...


class PresignedUploadLike(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def fields(self) -> dict[str, str]: ...

    @property
    def expires_in(self) -> int: ...


class UploadSigner(Protocol):
    def presign_upload(self, key: str, content_type: str, size: int, expires_in: int = 900) -> PresignedUploadLike: ...


class BlobReader(Protocol):
    """Attachment bytes by key, for the dispatcher (S3)."""

    def get(self, key: str) -> bytes: ...


# --------------------------------------------------------------------------------------------------------- dispatch


class BreakerStore(Protocol):
    """The per-tenant circuit breaker's document (policy: helpdesk.dispatch.breaker)."""

    def get(self, tenant_id: str) -> str | None: ...

    def put(self, tenant_id: str, doc: str, expires_at: int) -> None: ...

    def delete(self, tenant_id: str) -> None: ...


# -------------------------------------------------------------------------------------------------------- picklists


class PicklistResolver(Protocol):
    """A tenant's ticket picklists: label -> value (helpdesk.autotask.picklists.TicketPicklists implements it)."""

    def resolve(self, field: str, label: str | int | None, parent: int | None = None) -> int | None: ...

    def default(self, field: str, parent: int | None = None) -> int | None: ...


class RefusalPicklists(PicklistResolver, Protocol):
    """What reading Autotask's refusal of a ticket needs besides resolving labels (domain.refusals)."""

    def first_active(self, field: str, parent: int | None = None) -> int | None: ...

    def label(self, field: str, value: int | str | None) -> str | None: ...
