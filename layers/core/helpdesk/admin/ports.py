"""What the admin use cases need from Autotask and from the rules function, as small interfaces.

The real implementations live in helpdesk.admin.gateway (over helpdesk.autotask's client, imported lazily to keep
the admin function's cold start light) and helpdesk.admin.rules_lambda (boto3 lambda.invoke of `rules`).
Tests use fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ConnectionSettings:
    """Decrypted Autotask connection settings of one tenant: lives only for one request, never logged."""

    tenant_id: str
    host: str
    api_key: str = field(repr=False)
    integration_code: str = field(repr=False)
    fresh: bool = False  # bypass metadata caches (picklists): "Reload from Autotask" and the Integration Test


@dataclass(frozen=True)
class EntityAccess:
    """`GET /V1.0/{Entity}/entityInformation`: what the entity supports and what the API user may do."""

    entity: str
    can_query: bool = True
    can_create: bool = True
    can_update: bool = True
    user_query: bool = True
    user_create: bool = True
    user_update: bool = True
    verified: bool = True  # False: Autotask did not describe the entity; only reads could be probed


@dataclass(frozen=True)
class PicklistOption:
    value: str
    label: str
    parent: str | None = None
    is_default: bool = False


@dataclass(frozen=True)
class PicklistSet:
    """Dropdown options per settings field (queue, priority, ticketStatus, type, source, issue, subIssue,
    category, worktype), read from the tenant's Autotask."""

    fields: Mapping[str, list[PicklistOption]]

    def labels(self, name: str) -> list[str]:
        return [o.label for o in self.fields.get(name, [])]


@dataclass(frozen=True)
class ZoneInfo:
    name: str | None
    url: str


class AutotaskGateway(Protocol):
    def zone(self) -> ZoneInfo: ...

    def check_authentication(self) -> None:
        """One cheap authenticated call (ThresholdInformation); raises an AutotaskError on failure."""
        ...

    def entity_access(self, entity: str) -> EntityAccess: ...

    def contact_exists(self, email: str) -> bool: ...

    def picklists(self) -> PicklistSet: ...

    def register_webhooks(self, url: str, secret: str, name: str) -> tuple[int, int]:
        """Create a TicketWebhook and a TicketNoteWebhook; return their ids."""
        ...

    def delete_webhooks(self, ticket_webhook_id: int | None, note_webhook_id: int | None) -> None: ...


AutotaskFactory = Callable[[ConnectionSettings], AutotaskGateway]


@dataclass(frozen=True)
class RulesMessage:
    message: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class RulesOutcome:
    """What the rules function answered, normalised: `ok` is False when the source does not compile."""

    ok: bool
    errors: list[RulesMessage] = field(default_factory=list)
    warnings: list[RulesMessage] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, Any] = field(default_factory=dict)
    exception: str | None = None
    output: str = ""
    helpers: dict[str, Any] = field(default_factory=dict)
    classifications: list[dict[str, Any]] = field(default_factory=list)
    """Each ai_categorize question the rules asked, with its scores (helpdesk.triage.describe)."""
    error: RulesMessage | None = None  # why the rules stopped early (run-time error or limit), with its line
    extra: dict[str, Any] = field(default_factory=dict)  # fields of the engine's answer not named above


class RulesRunner(Protocol):
    def validate(self, tenant_id: str, source: str) -> RulesOutcome: ...

    def evaluate(self, tenant_id: str, source: str, variables: dict[str, Any]) -> RulesOutcome:
        """A test run: validation, evaluation, helper variables and printed lines."""
        ...

    def run(self, tenant_id: str, source: str, variables: dict[str, Any]) -> RulesOutcome:
        """Only the evaluation, as the dispatcher runs it (a replay runs this once per press)."""
        ...
