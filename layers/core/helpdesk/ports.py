"""Ports: every interface a use case needs from the world outside the package, in one place.

Use cases (intake/, dispatch/, notifications/, admin/) depend on these Protocols only; adapters (adapters/, and
the Autotask HTTP client in autotask/) implement them; each function's composition root
(`functions/<name>/dependencies.py`) builds the adapters once per execution environment and hands them over.
Tests implement the same Protocols with in-memory fakes, and mypy checks both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from helpdesk.autotask.models import (
    AtCompany,
    AtConfigurationItem,
    AtContact,
    AtResource,
    AtTicket,
    AtTicketAttachment,
    AtTicketNote,
)
from helpdesk.autotask.picklists import NotePicklists, TicketPicklists
from helpdesk.domain.rules import RuleResult, RulesRequest
from helpdesk.domain.tenant import Tenant

# ------------------------------------------------------------------------------------------- Autotask (dispatch)


class RequestCounter(Protocol):
    @property
    def total(self) -> int:
        """HTTP requests sent so far (retries and pages each count once)."""
        ...


class AutotaskPort(Protocol):
    """Every Autotask call the dispatcher's use cases make (helpdesk.autotask.client.AutotaskClient implements it;
    each route it sends is in helpdesk.autotask.routes, which the Swagger conformance test checks)."""

    @property
    def stats(self) -> RequestCounter: ...

    def find_contact_by_email(self, email: str) -> AtContact | None: ...

    def get_company(self, company_id: int) -> AtCompany | None: ...

    def find_configuration_item(self, hostname: str, company_id: int) -> AtConfigurationItem | None: ...

    def get_resource(self, resource_id: int) -> AtResource | None: ...

    def ticket_picklists(self) -> TicketPicklists: ...

    def note_picklists(self) -> NotePicklists: ...

    def billing_codes(self, *, active_only: bool = True) -> list[dict[str, Any]]:
        """Work types (`{id, name, isActive, useType}`): the last resort for a work type Autotask requires."""
        ...

    def create_ticket(self, fields: Mapping[str, Any]) -> int:
        """Never retried: after an error with `maybe_committed`, `find_ticket_by_external_id` first."""
        ...

    def find_ticket_by_external_id(self, external_id: str) -> AtTicket | None: ...

    def get_ticket(self, ticket_id: int) -> AtTicket | None: ...

    def create_ticket_note(self, ticket_id: int, title: str, description: str, publish: int = ...) -> int: ...

    def list_ticket_notes(
        self, ticket_id: int, since_id: int | None = None, *, published_only: bool = False
    ) -> list[AtTicketNote]: ...

    def create_ticket_attachment(self, ticket_id: int, filename: str, data: bytes, title: str | None = None) -> int: ...

    def find_ticket_attachments(self, ticket_id: int) -> list[AtTicketAttachment]: ...


class AutotaskClients(Protocol):
    """One Autotask port per tenant (built from its KMS-sealed credentials, reused per execution environment)."""

    def for_tenant(self, tenant: Tenant) -> AutotaskPort:
        """Raises TenantNotConfigured when the tenant's Autotask settings are incomplete."""
        ...

    def successes(self, tenant_id: str) -> int:
        """How many 2xx answers this tenant's Autotask gave in this execution environment so far (the breaker
        tells "Autotask is down" from "a request failed" by whether anything succeeded meanwhile)."""
        ...


class TenantNotConfigured(RuntimeError):
    """The tenant has no complete Autotask settings (host, integration code, API key)."""


# ---------------------------------------------------------------------------------------------------- rules


class RulesRunner(Protocol):
    """The `rules` function (helpdesk.domain.rules is the contract): the dispatcher evaluates, the admin API and
    the ops CLI validate and test."""

    def run(self, request: RulesRequest) -> RuleResult:
        """Raises RulesUnavailable (not reached: try later) or RulesFunctionFailed (it ran and failed)."""
        ...
