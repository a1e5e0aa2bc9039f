"""The Integration Test: one line per check, pass/fail/skip, with a message an MSP admin can act on.

Nothing is created in the MSP's Autotask: permissions come from `entityInformation` (canCreate/canUpdate and
userAccessFor*), the catch-all contact from a query, defaults from the live picklists. It covers what tickets
will use: every default (and, for the fields Autotask requires, that some default exists), every value the
saved rules assign to a picklist variable (found statically: helpdesk.admin.rules_literals), and read access to
what a ticket links (configuration items, work types, technicians). Messages keep the original product's
wording ("Sunday Priority Not Found").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from helpdesk.admin.errors import AdminError
from helpdesk.admin.gateway import SETTINGS_FIELDS, autotask_message
from helpdesk.admin.ports import AutotaskGateway, EntityAccess, PicklistSet
from helpdesk.admin.settings import LastIntegrationTest
from helpdesk.autotask.errors import (
    MSG_ACCESS,
    MSG_AUTH,
    MSG_PERMISSION,
    MSG_VALIDATION,
)
from helpdesk.domain.tenant import (
    MAX_TEST_PROBLEMS,
    ConnectionState,
    IntegrationTestSummary,
    Tenant,
    utcnow,
)

MSG_CONTACT = "There was an error finding the contact."

LABELS = {
    "queue": "queue",
    "priority": "priority",
    "ticketStatus": "status",
    "type": "type",
    "source": "source",
    "issue": "issue",
    "subIssue": "sub-issue",
    "category": "category",
    "worktype": "work type",
}

# (id, what it needs, entity, attribute pairs, Autotask security-level hint)
PERMISSIONS: tuple[tuple[str, str, str, tuple[str, str], str], ...] = (
    ("perm_contacts", "Read contacts", "Contacts", ("can_query", "user_query"), "CRM/Customer & Cancelations: All"),
    ("perm_companies", "Read companies", "Companies", ("can_query", "user_query"), "CRM/Customer & Cancelations: All"),
    ("perm_tickets_read", "Read tickets", "Tickets", ("can_query", "user_query"), "Service Desk/Tickets/View: All"),
    ("perm_tickets_create", "Create tickets", "Tickets", ("can_create", "user_create"), "Service Desk/Tickets/Add"),
    ("perm_tickets_edit", "Edit tickets", "Tickets", ("can_update", "user_update"), "Service Desk/Tickets/Edit"),
    (
        "perm_notes_create",
        "Add ticket notes",
        "TicketNotes",
        ("can_create", "user_create"),
        "Service Desk/Tickets/Edit",
    ),
    # What a ticket links: without these reads the configuration item (by hostname) and the technician's name in
    # notifications are silently missing, and a work type cannot be checked.
    (
        "perm_configuration_items",
        "Read configuration items",
        "ConfigurationItems",
        ("can_query", "user_query"),
        "CRM/Configuration Items: View",
    ),
    (
        "perm_billing_codes",
        "Read work types",
        "BillingCodes",
        ("can_query", "user_query"),
        "Admin/Work Types (billing codes): View",
    ),
    ("perm_resources", "Read resources", "Resources", ("can_query", "user_query"), "Admin/Resources: View"),
)
# Autotask refuses a ticket without these; with no default anywhere each ticket falls back to the first value.
REQUIRED_DEFAULTS = ("priority", "ticketStatus")


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a check status, not a password
    FAIL = "fail"
    SKIP = "skip"


class Check(BaseModel):
    id: str
    name: str
    status: Status
    message: str
    hint: str = ""
    duration_ms: int = 0


class IntegrationTestReport(BaseModel):
    ok: bool
    checks: list[Check]
    ran_at: datetime = Field(default_factory=utcnow)
    duration_ms: int = 0
    summary: LastIntegrationTest | None = Field(
        default=None, description="What GET /v1/admin/settings now answers as last_integration_test"
    )


MAX_PROBLEM_CHARS = 300


def summarise(report: IntegrationTestReport, tenant: Tenant, fingerprint: str) -> IntegrationTestSummary:
    """The bounded summary kept of a run: counts, the connection's state and the first few problems."""
    checks = {c.id: c for c in report.checks}
    signed_in = checks.get("authentication")
    refused = [
        c
        for c in (checks.get("zone"), signed_in)
        if c is not None and c.status is Status.FAIL and MSG_AUTH in c.message
    ]
    if not tenant.autotask.configured:
        connection = ConnectionState.NOT_CONFIGURED
    elif signed_in is not None and signed_in.status is Status.PASS:
        connection = ConnectionState.CONNECTED
    elif refused:
        connection = ConnectionState.REJECTED
    else:
        connection = ConnectionState.UNREACHABLE
    failed = [c for c in report.checks if c.status is Status.FAIL]
    problems = [f"{c.name}: {c.message}"[:MAX_PROBLEM_CHARS] for c in failed[:MAX_TEST_PROBLEMS]]
    return IntegrationTestSummary(
        ok=report.ok,
        ran_at=report.ran_at,
        connection=connection,
        host=tenant.autotask.host,
        passed=sum(1 for c in report.checks if c.status is Status.PASS),
        failed=len(failed),
        skipped=sum(1 for c in report.checks if c.status is Status.SKIP),
        problems=problems,
        connection_fingerprint=fingerprint,
    )


class _Run:
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, id_: str, name: str, status: Status, message: str, hint: str = "", started: float = 0.0) -> bool:
        elapsed = int((time.monotonic() - started) * 1000) if started else 0
        self.checks.append(Check(id=id_, name=name, status=status, message=message, hint=hint, duration_ms=elapsed))
        return status is Status.PASS

    def attempt(self, id_: str, name: str, fn: Callable[[], str], hint: str = "") -> bool:
        started = time.monotonic()
        try:
            message = fn()
        except Exception as exc:
            return self.add(id_, name, Status.FAIL, _failure(exc), hint, started)
        return self.add(id_, name, Status.PASS, message, "", started)


def _failure(exc: BaseException) -> str:
    if isinstance(exc, AdminError):
        return exc.message
    message = autotask_message(exc)
    if message is not None:
        return message
    return f"{MSG_ACCESS} ({type(exc).__name__})"


def run(
    tenant: Tenant,
    gateway_factory: Callable[[], AutotaskGateway],
    validate_rules: Callable[[str], tuple[bool, str]],
    rules_source: str | None,
) -> tuple[IntegrationTestReport, PicklistSet | None]:
    """Run every check. `gateway_factory` may raise (settings incomplete, key undecryptable): reported, not thrown.

    `validate_rules(source)` returns (ok, message). Returns the report and the picklists it read (for the cache).
    """
    started = time.monotonic()
    report = _Run()
    picklists: PicklistSet | None = None
    at = tenant.autotask
    missing = [
        n
        for n, v in (
            ("API endpoint", at.host),
            ("API key", at.api_key_ciphertext),
            ("API integration code", at.integration_code),
        )
        if not v
    ]
    gateway: AutotaskGateway | None = None
    if missing:
        report.add("settings", "Settings entered", Status.FAIL, f"Enter the {', '.join(missing)} and save.")
    else:
        try:
            gateway = gateway_factory()
            report.add("settings", "Settings entered", Status.PASS, f"API endpoint {at.host}, API user {at.api_user}")
        except Exception as exc:
            report.add("settings", "Settings entered", Status.FAIL, _failure(exc))

    connected = False
    if gateway is not None:
        gw = gateway
        zone_ok = report.attempt(
            "zone",
            "Zone lookup",
            lambda: _zone(gw),
            hint="Check the user name part of the API key (username@domain) and the API endpoint host.",
        )
        if zone_ok:
            connected = report.attempt(
                "authentication",
                "Authentication",
                lambda: _authenticate(gw),
                hint="Check the API key's password and the API integration code; the API user's Security Level "
                "must be 'API User (System)'.",
            )
        else:
            report.add("authentication", "Authentication", Status.SKIP, "Skipped: the zone lookup failed.")

    if connected and gateway is not None:
        picklists = _autotask_checks(report, gateway, tenant)
    else:
        for id_, name, *_ in PERMISSIONS:
            report.add(id_, name, Status.SKIP, "Skipped: not connected to Autotask.")
        report.add("contact", "Catch-all contact", Status.SKIP, "Skipped: not connected to Autotask.")
        report.add("defaults", "Ticket defaults", Status.SKIP, "Skipped: not connected to Autotask.")

    rules_started = time.monotonic()
    if not rules_source:
        report.add("rules", "Dispatcher Rules compile", Status.PASS, "No rules saved: the defaults apply.")
    else:
        try:
            ok, message = validate_rules(rules_source)
            status = Status.PASS if ok else Status.FAIL
        except Exception as exc:
            status, message = Status.FAIL, f"The rules could not be checked ({type(exc).__name__})."
        report.add(
            "rules",
            f"Dispatcher Rules compile (version {tenant.rules_version})",
            status,
            message,
            started=rules_started,
        )

    if rules_source:
        _rules_values(report, rules_source, picklists)

    ok = all(c.status is Status.PASS for c in report.checks)
    elapsed = int((time.monotonic() - started) * 1000)
    return IntegrationTestReport(ok=ok, checks=report.checks, duration_ms=elapsed), picklists


def _authenticate(gateway: AutotaskGateway) -> str:
    gateway.check_authentication()
    return "Signed in as the API user."


def _zone(gateway: AutotaskGateway) -> str:
    zone = gateway.zone()
    return f"Zone {zone.name or '?'} at {zone.url}"


def _autotask_checks(report: _Run, gateway: AutotaskGateway, tenant: Tenant) -> PicklistSet | None:
    access: dict[str, EntityAccess | BaseException] = {}
    for id_, name, entity, (entity_attr, user_attr), where in PERMISSIONS:
        started = time.monotonic()
        if entity not in access:
            try:
                access[entity] = gateway.entity_access(entity)
            except Exception as exc:
                access[entity] = exc
        info = access[entity]
        if isinstance(info, BaseException):
            report.add(id_, name, Status.FAIL, _failure(info), started=started)
            continue
        if not info.verified and entity_attr != "can_query":
            report.add(
                id_,
                name,
                Status.PASS,
                f"Autotask did not describe {entity}, so this could not be checked in advance; the first ticket "
                "will show it.",
                started=started,
            )
        elif getattr(info, entity_attr) and getattr(info, user_attr):
            report.add(id_, name, Status.PASS, f"The API user may {name.lower()}.", started=started)
        else:
            report.add(
                id_,
                name,
                Status.FAIL,
                f"{MSG_PERMISSION} The API user may not {name.lower()}.",
                hint=f"Give the API user's security level this permission: {where}.",
                started=started,
            )

    email = tenant.autotask.unregistered_email
    started = time.monotonic()
    try:
        found = gateway.contact_exists(email)
        if found:
            report.add("contact", "Catch-all contact", Status.PASS, f"Found the contact {email}.", started=started)
        else:
            report.add(
                "contact",
                "Catch-all contact",
                Status.FAIL,
                MSG_CONTACT,
                hint=f"Create a contact with first name 'Unregistered', last name 'User' and e-mail {email} "
                "(or change the unregistered contact e-mail in these settings).",
                started=started,
            )
    except Exception as exc:
        report.add("contact", "Catch-all contact", Status.FAIL, f"{MSG_CONTACT} {_failure(exc)}", started=started)

    started = time.monotonic()
    try:
        picklists = gateway.picklists()
    except Exception as exc:
        report.add("defaults", "Ticket defaults", Status.FAIL, _failure(exc), started=started)
        return None
    defaults = tenant.defaults.model_dump()
    set_fields = [f for f in SETTINGS_FIELDS if defaults.get(f) not in (None, "")]
    if not set_fields:
        report.add("defaults", "Ticket defaults", Status.PASS, "No defaults set: Autotask's own defaults apply.")
    for field in REQUIRED_DEFAULTS:
        if field not in set_fields:
            _required_default(report, picklists, field)
    for field in set_fields:
        ok, message = check_default(picklists, field, defaults[field], defaults.get("issue"))
        report.add(
            f"default_{field}",
            f"Default {LABELS[field]}",
            Status.PASS if ok else Status.FAIL,
            message,
            hint="" if ok else f"Pick a {LABELS[field]} from the list in Defaults and save.",
            started=started,
        )
    return picklists


def _required_default(report: _Run, picklists: PicklistSet, field: str) -> None:
    label = LABELS[field]
    options = picklists.fields.get(field, [])
    autotask_default = next((o for o in options if o.is_default), None)
    if autotask_default is not None:
        report.add(
            f"default_{field}",
            f"Default {label}",
            Status.PASS,
            f"No default {label} set here: Autotask's default '{autotask_default.label}' applies.",
        )
        return
    first = f"'{options[0].label}'" if options else "none"
    report.add(
        f"default_{field}",
        f"Default {label}",
        Status.FAIL,
        f"{MSG_VALIDATION} Default {label.title()} Not Found: neither these settings nor Autotask name a default "
        f"{label}, and Autotask refuses tickets without one. Each ticket will get the first active {label} "
        f"({first}), listed under [Submission Errors].",
        hint=f"Pick a default {label} in Defaults and save (or mark one as default in Autotask).",
    )


def _rules_values(report: _Run, source: str, picklists: PicklistSet | None) -> None:
    """One line per value the saved rules assign to a picklist variable: does Autotask know it?"""
    from helpdesk.admin.rules_literals import assigned_literals
    from helpdesk.rules.variables import ORIGINAL_SPELLINGS

    literals = assigned_literals(source, ORIGINAL_SPELLINGS)
    if not literals:
        return
    if picklists is None:
        report.add("rules_values", "Values in the rules", Status.SKIP, "Skipped: the picklists could not be read.")
        return
    for n, lit in enumerate(literals, start=1):
        label = LABELS[lit.variable]
        name = f"Rules: {lit.variable} = {lit.value!r} (line {lit.line})"
        if lit.variable == "subIssue":
            ok = any(o.label.casefold() == str(lit.value).casefold() for o in picklists.fields.get("subIssue", []))
            message = f"'{lit.value}' is a sub-issue." if ok else f"{MSG_VALIDATION} {lit.value} Sub-Issue Not Found."
        else:
            ok, message = check_default(picklists, lit.variable, lit.value, None)
        report.add(
            f"rules_value_{n}",
            name,
            Status.PASS if ok else Status.FAIL,
            f"Line {lit.line}: {message}",
            hint=""
            if ok
            else f"Use a {label} that exists in Autotask; until then tickets from this line fall back to the "
            f"default {label} (listed under [Submission Errors]).",
        )


def check_default(picklists: PicklistSet, field: str, value: Any, issue: str | None) -> tuple[bool, str]:
    options = picklists.fields.get(field, [])
    if field == "worktype":
        match = next((o for o in options if o.value == str(value)), None)
        if match:
            return True, f"Work type {value} is '{match.label}'."
        return False, f"{MSG_VALIDATION} Work type {value} Not Found (no active allocation code with that id)."
    wanted = " ".join(str(value).split()).casefold()
    if field == "subIssue":
        parent = next(
            (o for o in picklists.fields.get("issue", []) if o.label.casefold() == (issue or "").casefold()), None
        )
        if parent is None:
            return False, f"{MSG_VALIDATION} Sub-issue '{value}' needs a valid issue."
        options = [o for o in options if o.parent == parent.value]
    match = next((o for o in options if " ".join(o.label.split()).casefold() == wanted), None)
    if match:
        return True, f"'{value}' is a valid {LABELS[field]}."
    choices = ", ".join(o.label for o in options[:12]) + (", ..." if len(options) > 12 else "")
    return False, f"{MSG_VALIDATION} {value} {LABELS[field].title()} Not Found." + (
        f" Choose one of: {choices}." if choices else ""
    )


__all__ = ["MSG_AUTH", "Check", "IntegrationTestReport", "Status", "check_default", "run"]
