"""When Autotask refuses a ticket create because of a field: read its error, replace or drop that field.

Autotask answers a refused create with `{"errors": ["..."]}` (mostly HTTP 500) naming the field, e.g.
`priority is required.`, `29683001 is not a valid value for queueID.`, `Value does not reference an existing
entity for billingCodeID . ` (research-autotask-api.md section 6). A value can be refused although it resolved
when the ticket was built: no picklist value marked default (so no priority was sent), a value made inactive
since the picklists were cached, a work type id that does not exist, a field a ticket category requires.

Policy (product promise: a bad value never blocks a ticket): each refused field falls back to the tenant's
default, then Autotask's default, then (only for a field Autotask requires) its first active value; an optional
field with no fallback is dropped. Each change is named for the "[Submission Errors]" section of the note. The
create is retried once with the repaired fields (the caller keeps exactly-once by looking the ticket up by
`externalID` first).

Pure: picklists come in behind `domain.ports.RefusalPicklists`, active work types through a callable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from helpdesk.domain.ports import RefusalPicklists
from helpdesk.domain.tenant import TicketDefaults

# Ticket field -> (tenant default attribute, human name)
PICKLIST_FIELDS: dict[str, tuple[str, str]] = {
    "status": ("ticketStatus", "status"),
    "priority": ("priority", "priority"),
    "queueID": ("queue", "queue"),
    "issueType": ("issue", "issue"),
    "subIssueType": ("subIssue", "sub-issue"),
    "source": ("source", "source"),
    "ticketType": ("type", "type"),
    "ticketCategory": ("category", "category"),
}
REFERENCE_FIELDS: dict[str, str] = {
    "billingCodeID": "work type",
    "contactID": "contact",
    "configurationItemID": "configuration item",
}
# Always required by Autotask's Tickets metadata (research section 4.3); others become required per category.
ALWAYS_REQUIRED = frozenset({"status", "priority"})
_KNOWN = {name.casefold(): name for name in (*PICKLIST_FIELDS, *REFERENCE_FIELDS)}
_UNREPAIRABLE = frozenset({"companyid", "title", "id"})

_MISSING = re.compile(r"\b([A-Za-z]+)\s+is\s+required\b", re.IGNORECASE)
_INVALID = (
    re.compile(r"not\s+a\s+valid\s+value\s+for\s+([A-Za-z]+)", re.IGNORECASE),
    re.compile(r"does\s+not\s+reference\s+an\s+existing\s+entity\s+for\s+([A-Za-z]+)", re.IGNORECASE),
    re.compile(r"\b([A-Za-z]+)\s+must\s+be\b", re.IGNORECASE),
    re.compile(r"\b([A-Za-z]+)\s+requires\b", re.IGNORECASE),
)
_WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class Refusal:
    """One field Autotask named in its refusal: `missing` (required, not sent) or not acceptable.
    `checked`: not named by Autotask but found not active when its refusal was read (see `precheck`)."""

    field: str
    missing: bool
    message: str
    checked: bool = False


def precheck(
    fields: dict[str, Any], picklists: RefusalPicklists, active_work_types: Callable[[], list[int]]
) -> list[Refusal]:
    """The other fields of a refused create that would be refused next: picklist values not active (any more)
    and a work type that is not an active one. Autotask may name one problem per answer, and the create is
    retried only once, so everything that can be checked is fixed in that one retry."""
    out: list[Refusal] = []
    for field in PICKLIST_FIELDS:
        value = fields.get(field)
        if value is None or isinstance(value, bool) or not isinstance(value, int):
            continue
        parent = fields.get("issueType") if field == "subIssueType" else None
        if picklists.resolve(field, value, parent) is None:
            out.append(Refusal(field, False, f"{value} is not an active value for {field}", checked=True))
    code = fields.get("billingCodeID")
    if isinstance(code, int) and not isinstance(code, bool) and code not in active_work_types():
        out.append(Refusal("billingCodeID", False, f"{code} is not an active work type", checked=True))
    return out


def parse_refusal(messages: Sequence[str]) -> tuple[list[Refusal], bool]:
    """The ticket fields Autotask's messages name, and whether every message named one we can repair.

    The second value is False when a message names nothing we know or a field we must not change (company,
    title): then a retry cannot help."""
    found: dict[str, Refusal] = {}
    repairable = bool(messages)
    for message in messages:
        named: list[tuple[str, bool]] = []
        for m in _MISSING.finditer(message):
            named.append((m.group(1), True))
        for pattern in _INVALID:
            for m in pattern.finditer(message):
                named.append((m.group(1), False))
        if not named:  # any other wording: a known field named anywhere in it
            named = [(w, False) for w in _WORD.findall(message) if w.casefold() in _KNOWN]
        fields = [(_KNOWN.get(n.casefold()), n, missing) for n, missing in named]
        if not fields or any(f is None and n.casefold() in _UNREPAIRABLE for f, n, _ in fields):
            repairable = False
        known = [(f, missing) for f, _, missing in fields if f is not None]
        if not known:
            repairable = False
        for name, missing in known:
            if name not in found or missing:
                found[name] = Refusal(name, missing, message.strip()[:300])
    return list(found.values()), repairable


def _show(picklists: RefusalPicklists, field: str, value: Any) -> str:
    label = picklists.label(field, value) if field in PICKLIST_FIELDS else None
    return f"{label!r} ({value})" if label else repr(value)


@dataclass(frozen=True)
class Repair:
    fields: dict[str, Any]
    errors: list[str]


def repair_fields(
    fields: dict[str, Any],
    refusals: Sequence[Refusal],
    picklists: RefusalPicklists,
    defaults: TicketDefaults,
    *,
    active_work_types: Callable[[], list[int]],
) -> Repair | None:
    """Fields with each refused one replaced or dropped, and a line per change; None if a required field has no
    acceptable value at all (the create would be refused again)."""
    out = dict(fields)
    errors: list[str] = []
    for refusal in sorted(refusals, key=lambda r: r.field == "subIssueType"):  # issue before its sub-issue
        field, sent = refusal.field, fields.get(refusal.field)
        required = refusal.missing or field in ALWAYS_REQUIRED
        why = (
            f"checked after Autotask refused the ticket: {refusal.message}"
            if refusal.checked
            else f'Autotask refused the ticket: "{refusal.message}"'
        )
        if field in PICKLIST_FIELDS:
            attr, human = PICKLIST_FIELDS[field]
            parent = out.get("issueType") if field == "subIssueType" else None
            if field == "subIssueType" and parent is None:
                out.pop(field, None)
                errors.append(f"{human} {_show(picklists, field, sent)} was left empty ({why}).")
                continue
            candidates: list[tuple[int | None, str]] = []
            tenant_label = getattr(defaults, attr, None)
            if isinstance(tenant_label, str) and tenant_label:
                candidates.append((picklists.resolve(field, tenant_label, parent), f"the default {tenant_label!r}"))
            candidates.append((picklists.default(field, parent), "Autotask's default"))
            if required:
                candidates.append((picklists.first_active(field, parent), "the first active value"))
            chosen = next(((v, how) for v, how in candidates if v is not None and v != sent), None)
        else:
            human = REFERENCE_FIELDS[field]
            chosen = None
            if field == "billingCodeID":
                if defaults.worktype is not None and defaults.worktype != sent:
                    chosen = (defaults.worktype, f"the default {defaults.worktype}")
                elif required:
                    first = next((w for w in active_work_types() if w != sent), None)
                    chosen = (first, "the first active work type") if first is not None else None
        what = f"{human} {_show(picklists, field, sent)}" if sent is not None else f"{human} (not set)"
        if chosen is not None:
            value, how = chosen
            out[field] = value
            shown = _show(picklists, field, value) if field in PICKLIST_FIELDS else str(value)
            errors.append(f"{what}: {why}; used {how} {shown} instead.")
        elif required:
            return None
        else:
            out.pop(field, None)
            errors.append(f"{what}: {why}; left empty.")
        if field == "issueType" and out.pop("subIssueType", None) is not None:
            errors.append("sub-issue: left empty because its issue was refused.")
    return Repair(fields=out, errors=errors)
