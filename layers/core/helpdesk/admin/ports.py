"""What the admin use cases need from Autotask and from the rules function, as small interfaces.

The real implementation lives in helpdesk.admin.gateway (over helpdesk.autotask's client, imported lazily to keep
the admin function's cold start light); the rules function is reached through helpdesk.ports.RulesRunner.
Tests use fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol


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
