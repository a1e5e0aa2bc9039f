"""Settings as the admin reads and writes them. The API key is write-only: reads carry a mask such as `****@MG`."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from helpdesk.admin.errors import FieldError, Invalid
from helpdesk.domain.tenant import (
    ConnectionState,
    IntegrationTestSummary,
    NotificationSettings,
    RulesErrorPolicy,
    Tenant,
    TenantStatus,
    TicketDefaults,
)

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}$")
MAX_API_KEY = 1100


class AutotaskUpdate(BaseModel):
    """Only the fields present are changed. `api_key` is a SecretStr: it never shows in a repr or a log line."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(default=None, max_length=300, examples=["webservices5.autotask.net"])
    api_key: SecretStr | None = Field(default=None, description="username@domain:password (write only)")
    integration_code: str | None = Field(default=None, max_length=100)
    unregistered_email: str | None = Field(default=None, max_length=254)


class SettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    autotask: AutotaskUpdate | None = None
    defaults: TicketDefaults | None = None
    notifications: NotificationSettings | None = None
    rules_on_error: RulesErrorPolicy | None = Field(
        default=None,
        description="'create' (default): a press whose rules fail still becomes a ticket with the defaults, the "
        "error named in its note; 'block': the press is refused with the error (the original product's behaviour)",
    )
    revision: int | None = Field(
        default=None, ge=0, description="The revision you read; if someone saved since, the answer is 409"
    )


class AutotaskView(BaseModel):
    host: str | None
    integration_code: str | None
    api_user: str | None
    api_key_set: bool
    api_key_mask: str | None
    unregistered_email: str
    configured: bool


class LastIntegrationTest(BaseModel):
    """The last Integration Test as the settings page shows it at its top (kept across reloads)."""

    ok: bool
    ran_at: datetime
    connection: ConnectionState = Field(
        description="connected | rejected (Autotask refused the API user, password or integration code) | "
        "unreachable | not_configured"
    )
    host: str | None = Field(description="The API endpoint host it ran against")
    passed: int
    failed: int
    skipped: int
    problems: list[str] = Field(description="The first failed checks, 'name: message' (at most 5)")
    current: bool = Field(
        description="It ran with the connection settings saved now (false: host, API key or integration code "
        "changed since, so run it again)"
    )


class SettingsView(BaseModel):
    tenant_id: str
    name: str
    status: TenantStatus
    autotask: AutotaskView
    defaults: TicketDefaults
    notifications: NotificationSettings
    rules_version: int
    rules_on_error: RulesErrorPolicy
    webhooks_registered: bool
    revision: int
    updated_at: datetime
    last_integration_test: LastIntegrationTest | None = Field(
        default=None, description="The last Integration Test's summary (null: never run)"
    )


def connection_fingerprint(tenant: Tenant) -> str:
    """A short hash of what the connection uses (host, integration code, the API key's ciphertext): it changes
    whenever they do, and reveals nothing about them."""
    at = tenant.autotask
    raw = "|".join((at.host or "", at.integration_code or "", at.api_key_ciphertext or ""))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def last_test_view(tenant: Tenant, summary: IntegrationTestSummary | None) -> LastIntegrationTest | None:
    if summary is None:
        return None
    return LastIntegrationTest(
        **summary.model_dump(exclude={"connection_fingerprint"}),
        current=summary.connection_fingerprint == connection_fingerprint(tenant),
    )


def view(tenant: Tenant, last_test: IntegrationTestSummary | None = None) -> SettingsView:
    at = tenant.autotask
    return SettingsView(
        tenant_id=tenant.tenant_id,
        name=tenant.name,
        status=tenant.status,
        autotask=AutotaskView(
            host=at.host,
            integration_code=at.integration_code,
            api_user=at.api_user,
            api_key_set=bool(at.api_key_ciphertext),
            api_key_mask=at.api_key_mask if at.api_key_ciphertext else None,
            unregistered_email=at.unregistered_email,
            configured=at.configured,
        ),
        defaults=tenant.defaults,
        notifications=tenant.notifications,
        rules_version=tenant.rules_version,
        rules_on_error=tenant.rules_on_error,
        webhooks_registered=tenant.webhooks is not None,
        revision=tenant.revision,
        updated_at=tenant.updated_at,
        last_integration_test=last_test_view(tenant, last_test),
    )


def mask_api_key(api_key: str) -> str:
    """`user@domain:1SuperSecurePassword@MG` -> `****@MG`: enough to tell two keys apart, useless to an attacker.

    Short passwords show nothing at all."""
    secret = api_key.split(":", 1)[1] if ":" in api_key else ""
    return "****" + (secret[-3:] if len(secret) >= 12 else "")


def clean_host(raw: str) -> str:
    """Validate the endpoint host the way the Autotask client will (host only; scheme and path are stripped)."""
    from helpdesk.autotask.config import AutotaskSettings, is_autotask_host
    from helpdesk.autotask.credentials import normalise_host

    settings = AutotaskSettings.from_env()
    host = normalise_host(raw)
    if not host:
        raise Invalid(
            "Enter the Autotask API endpoint host.",
            fields=[FieldError("autotask.host", f"Enter the API endpoint host: {settings.host_hint()}.")],
        )
    # A real Autotask host is always a valid setting, also where this service cannot reach it (the devstack):
    # the Integration Test then says why no request was sent.
    if len(host) > 255 or "@" in host or not (settings.host_allowed(host) or is_autotask_host(host)):
        message = (
            f"The API endpoint must be an Autotask web services host: {settings.host_hint()} "
            "(do not add https:// or the path after the host)."
        )
        raise Invalid(message, fields=[FieldError("autotask.host", message)])
    return host


def split_api_key(raw: str) -> tuple[str, str]:
    """`username@domain:password` split at the FIRST colon (the password may contain `@` and `:`)."""
    message = "The API key must look like username@domain:password."
    if len(raw) > MAX_API_KEY or ":" not in raw or any(c in "\r\n\0" for c in raw):
        raise Invalid(message, fields=[FieldError("autotask.api_key", message)])
    user, secret = raw.split(":", 1)
    user = user.strip()
    if not user or "@" not in user or user.startswith("@") or user.endswith("@") or any(c.isspace() for c in user):
        message = "The API key must start with the API user name, like username@domain:password."
        raise Invalid(message, fields=[FieldError("autotask.api_key", message)])
    if not secret:
        message = "The API key must end with the API user's password: username@domain:password."
        raise Invalid(message, fields=[FieldError("autotask.api_key", message)])
    return user, secret


def clean_integration_code(raw: str) -> str:
    code = raw.strip()
    if not code or any(c.isspace() for c in code):
        message = "Enter the API integration code (the API user's tracking identifier), without spaces."
        raise Invalid(message, fields=[FieldError("autotask.integration_code", message)])
    return code


def clean_email(raw: str, field: str) -> str:
    email = raw.strip()
    if not EMAIL_PATTERN.match(email):
        message = "Enter a valid e-mail address, such as unregistered@helpdeskbuttons.com."
        raise Invalid(message, fields=[FieldError(field, message)])
    return email
