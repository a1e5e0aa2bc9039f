"""Tenants (MSPs) and everything they configure.

Secrets never live in these models in clear: the Autotask API key is stored as KMS ciphertext (encryption
context = tenant id) with a display mask; button keys, admin tokens and callout tokens are stored as SHA-256
hashes (they are 256-bit random values, so a fast hash is the right tool; see domain/tokens.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from helpdesk.domain.rules import MAX_SOURCE_CHARS

TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
DEFAULT_UNREGISTERED_EMAIL = "unregistered@helpdeskbuttons.com"


def utcnow() -> datetime:
    return datetime.now(UTC)


class TenantStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class TicketDefaults(BaseModel):
    """Default ticket field values, as the labels the MSP sees in Autotask ("High", "Tier 1 Support")."""

    model_config = ConfigDict(extra="forbid")

    queue: str | None = Field(default=None, max_length=100)
    priority: str | None = Field(default=None, max_length=100)
    ticketStatus: str | None = Field(default="New", max_length=100)
    type: str | None = Field(default="Service Request", max_length=100)
    source: str | None = Field(default=None, max_length=100)
    issue: str | None = Field(default=None, max_length=100)
    subIssue: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=100)
    worktype: int | None = Field(default=None, ge=0, description="Autotask allocation code id (billingCodeID)")


class RulesErrorPolicy(StrEnum):
    """What a press gets when the tenant's Dispatcher Rules fail at run time (error, limit, rules function down).

    `create` (default): the ticket is created as if no rules had run (the tenant's defaults) and the error is named
    in its internal note and on the submission. `block`: the original product's behaviour, the press is refused
    with the error text. An intentional `exception = '...'` blocks under both."""

    CREATE = "create"
    BLOCK = "block"


class NotificationEvent(StrEnum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    REPLY = "reply"
    COMPLETED = "completed"


DEFAULT_TEMPLATES: dict[NotificationEvent, str] = {
    NotificationEvent.CREATED: "Ticket __ticket_number__ was created: __ticket_subject__",
    NotificationEvent.STATUS_CHANGED: "Ticket __ticket_number__ is now __status__",
    NotificationEvent.REPLY: "New reply on ticket __ticket_number__ from __actor__",
    NotificationEvent.COMPLETED: "Ticket __ticket_number__ is complete. Thank you, __ticket_fname__!",
}


MAX_TEMPLATE_CHARS = 500


def _template_text(text: str) -> str:
    if not text.strip():
        raise ValueError("write the message the user gets, or untick the event to send nothing")
    return text


# Checked per template, so a refusal names the event it is about (notifications.templates.created)
TemplateText = Annotated[str, Field(max_length=MAX_TEMPLATE_CHARS), AfterValidator(_template_text)]


class NotificationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[NotificationEvent] = Field(default_factory=lambda: list(NotificationEvent))
    templates: dict[NotificationEvent, TemplateText] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATES))


class AutotaskSettings(BaseModel):
    """How to reach the tenant's Autotask. The API key itself is only ever held as ciphertext here."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(default=None, description="Web services host only, e.g. webservices5.autotask.net")
    integration_code: str | None = Field(default=None, max_length=100, description="API tracking identifier")
    api_user: str | None = Field(default=None, max_length=254, description="username@domain part of the API key")
    api_key_ciphertext: str | None = Field(default=None, description="KMS ciphertext (base64) of the whole API key")
    api_key_mask: str | None = Field(default=None, description="e.g. ****@MG: all a reader ever sees")
    unregistered_email: str = Field(default=DEFAULT_UNREGISTERED_EMAIL, max_length=254)

    @property
    def configured(self) -> bool:
        return bool(self.host and self.integration_code and self.api_key_ciphertext)


class WebhookRegistration(BaseModel):
    """The REST webhooks (TicketWebhooks / TicketNoteWebhooks) registered in the tenant's Autotask."""

    model_config = ConfigDict(extra="forbid")

    ticket_webhook_id: int | None = None
    note_webhook_id: int | None = None
    url: str = Field(default="", max_length=500, description="The webhook URL without its token")
    registered_at: datetime = Field(default_factory=utcnow)


class Tenant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=TENANT_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    status: TenantStatus = TenantStatus.ACTIVE
    autotask: AutotaskSettings = Field(default_factory=AutotaskSettings)
    defaults: TicketDefaults = Field(default_factory=TicketDefaults)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    rules_version: int = Field(default=0, ge=0, description="Active Dispatcher Rules version; 0 = no rules")
    rules_on_error: RulesErrorPolicy = Field(
        default=RulesErrorPolicy.CREATE, description="create the ticket with the defaults, or block, when rules fail"
    )
    webhook_secret_ciphertext: str | None = Field(default=None, description="KMS ciphertext of the webhook HMAC key")
    webhooks: WebhookRegistration | None = None
    callout_token_ciphertext: str | None = Field(
        default=None,
        description="KMS ciphertext of the active callout token, so the Ticket Notification URL can be shown again "
        "(the token is also stored hashed, as a credential, for lookups)",
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    revision: int = Field(default=0, ge=0, description="Optimistic-locking counter, bumped on every save")

    @property
    def active(self) -> bool:
        return self.status is TenantStatus.ACTIVE


class SecretPurpose(StrEnum):
    """What a sealed tenant secret is for; part of its KMS encryption context (`purpose`), so an IAM condition
    can let a function decrypt one kind of secret and not another (the callout function: webhook secrets only)."""

    AUTOTASK_API_KEY = "autotask-api-key"
    WEBHOOK_SECRET = "webhook-secret"  # noqa: S105 - a purpose name, not a secret
    CALLOUT_TOKEN = "callout-token"  # noqa: S105


class CredentialKind(StrEnum):
    BUTTON_KEY = "button"  # button agents (intake)
    ADMIN_TOKEN = "admin"  # noqa: S105 - MSP admins (admin API and settings page)
    CALLOUT_TOKEN = "callout"  # noqa: S105 - the secret part of the Ticket Notification URL


CREDENTIAL_LIMITS: Final[dict[CredentialKind, int]] = {
    CredentialKind.BUTTON_KEY: 500,
    CredentialKind.ADMIN_TOKEN: 50,
    CredentialKind.CALLOUT_TOKEN: 5,
}
"""Most ACTIVE credentials of each kind one tenant may hold (docs/admin-api.md); one more is a 409."""
REVOKED_CREDENTIAL_RETENTION_DAYS: Final = 90
"""A revoked credential stays listed (for audit) this long, then expires from the table (TTL)."""


class Credential(BaseModel):
    """A stored credential: only its hash, never the token itself."""

    model_config = ConfigDict(extra="forbid")

    credential_id: str
    tenant_id: str
    kind: CredentialKind
    label: str = Field(default="", max_length=100)
    token_hash: str
    token_hint: str = Field(default="", description="last 4 characters, to tell keys apart in a list")
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    suspended: bool = Field(
        default=False, description="its tenant is disabled: the credential is known but refused (403, not 401)"
    )

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IssuedCredential(BaseModel):
    """Returned exactly once, when a credential is created or rotated: the only time the token is visible."""

    credential: Credential
    token: str


class RulesVersion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str
    version: int = Field(ge=1)
    source: str = Field(max_length=MAX_SOURCE_CHARS)
    created_at: datetime = Field(default_factory=utcnow)
    author: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=200)


class ConnectionState(StrEnum):
    """What the last Integration Test found about the Autotask connection."""

    CONNECTED = "connected"  # the API user signed in
    REJECTED = "rejected"  # Autotask refused the API user, its password or the integration code
    UNREACHABLE = "unreachable"  # the endpoint failed otherwise (network, outage, an unexpected answer)
    NOT_CONFIGURED = "not_configured"  # host, API key or integration code not entered


MAX_TEST_PROBLEMS = 5
"""Problems a stored Integration Test summary keeps (the first ones; `failed` counts them all)."""


class IntegrationTestSummary(BaseModel):
    """The last Integration Test of a tenant, bounded, so the settings page can show it after a reload.

    Never a secret: the messages are the checks' own (written for the admin, without the API key), and
    `connection_fingerprint` is a short hash of the connection settings it ran with, so a reader can tell whether
    they changed since."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    ran_at: datetime
    connection: ConnectionState
    host: str | None = Field(default=None, max_length=300)
    passed: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    skipped: int = Field(default=0, ge=0)
    problems: list[str] = Field(default_factory=list, max_length=MAX_TEST_PROBLEMS)
    connection_fingerprint: str = Field(default="", max_length=64)
