"""In-memory fakes of the ports the intake and dispatch use cases depend on."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk.autotask import errors as at_errors
from helpdesk.autotask.models import (
    AtCompany,
    AtConfigurationItem,
    AtContact,
    AtFieldInfo,
    AtResource,
    AtTicket,
    AtTicketAttachment,
    AtTicketNote,
)
from helpdesk.autotask.picklists import NotePicklists, TicketPicklists
from helpdesk.domain.ports import ConflictError
from helpdesk.domain.rules import RuleResult, RulesRequest
from helpdesk.domain.submission import Submission, TimelineEvent
from helpdesk.domain.tenant import RulesVersion, Tenant, utcnow
from helpdesk.ports import AutotaskClients, AutotaskPort, RulesRunner


class InMemorySubmissions:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Submission] = {}
        self.events: dict[tuple[str, str], list[TimelineEvent]] = {}
        self.tickets: dict[tuple[str, int], str] = {}
        self.saves = 0
        self.clock: Callable[[], datetime] = utcnow  # stamps updated_at like the DynamoDB adapter

    def create(self, submission: Submission, *, first_event: TimelineEvent | None = None) -> Submission:
        key = (submission.tenant_id, submission.submission_id)
        if key in self.items:
            raise ConflictError("exists")
        stored = submission.model_copy(update={"revision": 1, "created_at": self.clock(), "updated_at": self.clock()})
        self.items[key] = stored
        if first_event is not None:
            self.append_event(submission.tenant_id, submission.submission_id, first_event)
        return stored

    def get_with_events(
        self, tenant_id: str, submission_id: str, *, limit: int = 200
    ) -> tuple[Submission | None, list[TimelineEvent]]:
        return self.get(tenant_id, submission_id), self.list_events(tenant_id, submission_id, limit=limit)

    def get(self, tenant_id: str, submission_id: str) -> Submission | None:
        return self.items.get((tenant_id, submission_id))

    def save(self, submission: Submission, *, events: Sequence[TimelineEvent] = ()) -> Submission:
        key = (submission.tenant_id, submission.submission_id)
        current = self.items.get(key)
        if current is None or current.revision != submission.revision:
            raise ConflictError("stale")
        stored = submission.model_copy(update={"revision": submission.revision + 1, "updated_at": self.clock()})
        self.items[key] = stored
        self.saves += 1
        for event in events:
            self.events.setdefault(key, []).append(event)
        if stored.progress.ticket_id is not None:
            self.tickets[(stored.tenant_id, stored.progress.ticket_id)] = stored.submission_id
        return stored

    def find_by_ticket(self, tenant_id: str, ticket_id: int) -> Submission | None:
        sid = self.tickets.get((tenant_id, ticket_id))
        return self.get(tenant_id, sid) if sid else None

    def append_event(self, tenant_id: str, submission_id: str, event: TimelineEvent) -> bool:
        events = self.events.setdefault((tenant_id, submission_id), [])
        if event.event_id and any(e.event_id == event.event_id for e in events):
            return False
        events.append(event)
        return True

    def list_events(self, tenant_id: str, submission_id: str, *, limit: int = 200) -> list[TimelineEvent]:
        return sorted(self.events.get((tenant_id, submission_id), []), key=lambda e: e.at)[:limit]

    def list_recent(self, tenant_id: str, *, limit: int = 50) -> list[Submission]:
        subs = [s for (t, _), s in self.items.items() if t == tenant_id]
        return sorted(subs, key=lambda s: s.created_at, reverse=True)[:limit]

    def page(
        self, tenant_id: str, *, limit: int, after: str | None = None, since: datetime | None = None
    ) -> tuple[list[tuple[str, Submission]], bool]:
        from helpdesk.adapters.dynamodb_submissions import sortable

        keyed = sorted(
            ((f"{sortable(s.created_at)}#{s.submission_id}", s) for (t, _), s in self.items.items() if t == tenant_id),
            key=lambda pair: pair[0],
            reverse=True,
        )
        keyed = [(k, s) for k, s in keyed if (after is None or k < after) and (since is None or k > sortable(since))]
        limit = max(1, min(limit, 100))
        return keyed[:limit], len(keyed) > limit


class InMemoryTenants:
    def __init__(self, *tenants: Tenant, rules: dict[tuple[str, int], str] | None = None) -> None:
        self.tenants = {t.tenant_id: t for t in tenants}
        self.rules = dict(rules or {})

    def get(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)

    def get_rules_version(self, tenant_id: str, version: int) -> RulesVersion | None:
        source = self.rules.get((tenant_id, version))
        return RulesVersion(tenant_id=tenant_id, version=version, source=source) if source is not None else None


class DictBreakerStore:
    def __init__(self) -> None:
        self.docs: dict[str, str] = {}

    def get(self, tenant_id: str) -> str | None:
        return self.docs.get(tenant_id)

    def put(self, tenant_id: str, doc: str, expires_at: int) -> None:
        self.docs[tenant_id] = doc

    def delete(self, tenant_id: str) -> None:
        self.docs.pop(tenant_id, None)


class Stats:
    def __init__(self) -> None:
        self.total = 0


def _picklist(name: str, values: dict[str, int], default: str | None = None) -> AtFieldInfo:
    return AtFieldInfo.model_validate(
        {
            "name": name,
            "isPickList": True,
            "picklistValues": [
                {"value": str(v), "label": k, "isActive": True, "isDefaultValue": k == default}
                for k, v in values.items()
            ],
        }
    )


@dataclass
class FakeAutotask:
    """The subset of AutotaskClient the dispatcher uses, with scripted failures (`fail[method] = [exc, ...]`)."""

    contacts: dict[str, AtContact] = field(default_factory=dict)
    companies: dict[int, str] = field(default_factory=lambda: {0: "Example MSP", 174: "Contoso Ltd."})
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[AtTicketNote]] = field(default_factory=dict)
    attachments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    fail: dict[str, list[Exception]] = field(default_factory=dict)
    commit_then_fail: dict[str, int] = field(default_factory=dict)
    stats: Stats = field(default_factory=Stats)
    ok: int = 0  # successful calls (what the breaker asks the client factory)
    calls: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def _call(self, name: str) -> None:
        self.stats.total += 1
        self.calls.append(name)
        queue = self.fail.get(name)
        if queue:
            raise queue.pop(0)
        self.ok += 1

    def _committed_but_lost(self, name: str) -> bool:
        if self.commit_then_fail.get(name, 0) > 0:
            self.commit_then_fail[name] -= 1
            return True
        return False

    def find_contact_by_email(self, email: str) -> AtContact | None:
        self._call("find_contact_by_email")
        return self.contacts.get(email.casefold())

    def get_company(self, company_id: int) -> AtCompany | None:
        self._call("get_company")
        name = self.companies.get(company_id)
        return AtCompany(id=company_id, companyName=name) if name is not None else None

    def find_configuration_item(self, hostname: str, company_id: int) -> AtConfigurationItem | None:
        self._call("find_configuration_item")
        return None

    def ticket_picklists(self) -> TicketPicklists:
        self._call("ticket_picklists")
        return TicketPicklists(
            [
                _picklist("status", {"New": 1}, "New"),
                _picklist("priority", {"Medium": 2, "High": 5}, "Medium"),
                _picklist("queueID", {"Tier 1 Support": 29682833}),
            ]
        )

    def note_picklists(self) -> NotePicklists:
        self._call("note_picklists")
        return NotePicklists([_picklist("publish", {"All Autotask Users": 1, "Internal Only": 2})])

    def billing_codes(self, *, active_only: bool = True) -> list[dict[str, Any]]:
        self._call("billing_codes")
        return [{"id": 29682801, "name": "Remote Support", "isActive": True, "useType": 1}]

    def create_ticket(self, fields: Mapping[str, Any]) -> int:
        self._call("create_ticket")
        ticket_id = next(self._ids)
        self.tickets[ticket_id] = {**fields, "id": ticket_id, "ticketNumber": f"T2026.{ticket_id}"}
        if self._committed_but_lost("create_ticket"):
            raise at_errors.TransientError("connection reset", maybe_committed=True)
        return ticket_id

    def find_ticket_by_external_id(self, external_id: str) -> AtTicket | None:
        self._call("find_ticket_by_external_id")
        for t in self.tickets.values():
            if t.get("externalID") == external_id:
                return AtTicket(id=t["id"], ticketNumber=t["ticketNumber"], externalID=external_id)
        return None

    def get_ticket(self, ticket_id: int) -> AtTicket | None:
        self._call("get_ticket")
        t = self.tickets.get(ticket_id)
        return AtTicket(id=ticket_id, ticketNumber=t["ticketNumber"]) if t else None

    def create_ticket_note(self, ticket_id: int, title: str, description: str, publish: int = 1) -> int:
        self._call("create_ticket_note")
        note_id = next(self._ids)
        self.notes.setdefault(ticket_id, []).append(
            AtTicketNote(id=note_id, ticketID=ticket_id, title=title, description=description, publish=publish)
        )
        if self._committed_but_lost("create_ticket_note"):
            raise at_errors.TransientError("connection reset", maybe_committed=True)
        return note_id

    def list_ticket_notes(
        self, ticket_id: int, since_id: int | None = None, *, published_only: bool = False
    ) -> list[AtTicketNote]:
        self._call("list_ticket_notes")
        return [n for n in self.notes.get(ticket_id, []) if since_id is None or n.id > since_id]

    def create_ticket_attachment(self, ticket_id: int, filename: str, data: bytes, title: str | None = None) -> int:
        self._call("create_ticket_attachment")
        attachment_id = next(self._ids)
        self.attachments.setdefault(ticket_id, []).append({"id": attachment_id, "fullPath": filename, "data": data})
        if self._committed_but_lost("create_ticket_attachment"):
            raise at_errors.TransientError("connection reset", maybe_committed=True)
        return attachment_id

    def find_ticket_attachments(self, ticket_id: int) -> list[AtTicketAttachment]:
        self._call("find_ticket_attachments")
        return [
            AtTicketAttachment(id=a["id"], parentID=ticket_id, fullPath=a["fullPath"], title=a["fullPath"])
            for a in self.attachments.get(ticket_id, [])
        ]

    def get_resource(self, resource_id: int) -> AtResource | None:
        self._call("get_resource")
        return None


def _fake_autotask_is_the_port(fake: FakeAutotask) -> AutotaskPort:
    return fake  # mypy (make typecheck) checks the fake against the port the dispatcher uses


class FakeClients:
    def __init__(self, client: FakeAutotask, error: Exception | None = None) -> None:
        self.client = client
        self.error = error

    def for_tenant(self, tenant: Tenant) -> AutotaskPort:
        if self.error is not None:
            raise self.error
        return self.client

    def successes(self, tenant_id: str) -> int:
        return self.client.ok


def _fake_clients_are_the_port(fake: FakeClients) -> AutotaskClients:
    return fake


class FakeRules:
    def __init__(self, answer: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.answer = answer
        self.error = error
        self.payloads: list[dict[str, Any]] = []

    def run(self, request: RulesRequest) -> RuleResult:
        payload = request.model_dump(mode="json")
        self.payloads.append(payload)
        if self.error is not None:
            raise self.error
        if self.answer is not None:
            return RuleResult.model_validate(self.answer)
        return RuleResult(variables=payload["variables"])


def _fake_rules_are_the_port(fake: FakeRules) -> RulesRunner:
    return fake


class DictBlobs:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes:
        return self.data[key]

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.data[key] = data

    def copy(self, source_key: str, key: str) -> None:
        self.data[key] = self.data[source_key]

    def size(self, key: str) -> int | None:
        return len(self.data[key]) if key in self.data else None


class Killed(BaseException):
    """The execution environment dies mid-call (timeout, out of memory): no handler of ours runs."""


class ListQueue:
    def __init__(self, fail_times: int = 0, *, die_times: int = 0) -> None:
        self.sent: list[Any] = []
        self.fail_times = fail_times
        self.die_times = die_times

    def send(self, message: Any, *, delay_seconds: int = 0) -> str:
        if self.die_times > 0:
            self.die_times -= 1
            raise Killed("the invocation was killed before the message was sent")
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("SQS unavailable")
        self.sent.append(message)
        return f"msg-{len(self.sent)}"
