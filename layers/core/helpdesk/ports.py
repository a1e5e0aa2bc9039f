"""Ports: every interface a use case needs from the world outside the package, in one place.

Use cases (intake/, dispatch/, notifications/, admin/) depend on these Protocols only; adapters (adapters/, and
the Autotask HTTP client in autotask/) implement them; each function's composition root
(`functions/<name>/dependencies.py`) builds the adapters once per execution environment and hands them over.
Tests implement the same Protocols with in-memory fakes, and mypy checks both sides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from helpdesk.domain.rules import RuleResult, RulesRequest
from helpdesk.domain.tenant import Tenant

if TYPE_CHECKING:  # annotations only: helpdesk.autotask imports this module (errors, limiter), not the reverse
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

# ------------------------------------------------------------------------ Autotask: errors and thread limits
# What every Autotask port raises and the limiter contract. The HTTP client (helpdesk.autotask) and the
# cross-instance limiter (adapters/dynamodb_limits.py) both depend on this, never on each other;
# helpdesk.autotask.errors re-exports these classes and adds the finer ones the client tells apart.

MSG_ACCESS = "There was an error accessing the API endpoint."
MSG_THROTTLED = "The PSA is limiting API requests; the request will be retried later."


class AutotaskError(Exception):
    """Base class. `str(exc)` is the admin-facing message followed by Autotask's own text."""

    retryable: bool = False
    user_message: str = MSG_ACCESS

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        errors: Sequence[str] = (),
        retry_after: float | None = None,
        maybe_committed: bool = False,
    ) -> None:
        self.detail = detail
        self.status = status
        self.errors: tuple[str, ...] = tuple(errors)
        self.retry_after = retry_after
        self.maybe_committed = maybe_committed
        super().__init__(self._render())

    def _render(self) -> str:
        extra = [self.detail] if self.detail else []
        extra += [e for e in self.errors if e not in extra]
        suffix = f" (HTTP {self.status})" if self.status else ""
        return self.user_message + suffix + (": " + " | ".join(extra) if extra else "")

    @property
    def autotask_message(self) -> str:
        """Autotask's own text (or our detail when Autotask gave none)."""
        return " | ".join(self.errors) if self.errors else (self.detail or "")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._render()!r})"


class Throttled(AutotaskError):
    """429 or the hourly request threshold: wait `retry_after` (if given) and try again."""

    retryable = True
    user_message = MSG_THROTTLED


class ThreadLimitExceeded(Throttled):
    """`Thread Threshold Exceeded` (3 concurrent requests per integration code and entity)."""


AUTOTASK_THREAD_LIMIT = 3  # per (database, integration code, entity): docs/autotask.md, helpdesk.autotask.limiter
# Autotask allows 10,000 requests an hour per database; the MSP's other integrations share it, so we take 4,000
# unless AUTOTASK_HOURLY_BUDGET says otherwise (helpdesk.env; the DynamoDB limiter enforces it).
DEFAULT_HOURLY_BUDGET = 4000


class LimiterKey(NamedTuple):
    database: str  # zone `ci` (or the zone URL when Autotask returns no ci)
    integration_code: str
    entity: str
    parent: str | None = None  # the parent entity of a child collection: its slot is held too

    def slots(self) -> list[LimiterKey]:
        """The keys whose slots one request holds: the parent's first (one order everywhere: no deadlock)."""
        own = self._replace(parent=None)
        return [own._replace(entity=self.parent), own] if self.parent and self.parent != self.entity else [own]


class ConcurrencyLimiter(Protocol):
    """Autotask's thread limit (helpdesk.autotask.limiter: in-process; adapters/dynamodb_limits.py: across
    instances, plus the hourly budget)."""

    def acquire(self, key: LimiterKey) -> AbstractContextManager[None]:
        """Block until a slot for `key` is free (bounded), hold it for the `with` body.

        Raises ThreadLimitExceeded when none frees up in time, Throttled when a request budget is spent."""
        ...


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
