"""From a submission, the tenant's defaults and the Dispatcher Rules' variables to the Autotask ticket we send.

Pure: the picklists come in behind `domain.ports.PicklistResolver` (implemented by helpdesk.autotask.picklists.TicketPicklists).

Picklist policy (product.md): the value a rule set wins over the tenant default; a label that does not exist
in the tenant's Autotask (or is inactive) never blocks the ticket. It falls back to the tenant default, then to
Autotask's own default value, then to nothing, and the problem is listed under "[Submission Errors]" in the
internal note so the MSP sees and fixes it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.domain.ports import PicklistResolver
from helpdesk.domain.submission import Submission
from helpdesk.domain.tenant import TicketDefaults

MAX_TITLE = 255
MAX_DESCRIPTION = 8000
MAX_NOTE = 32_000
NOTE_TITLE_PREFIX = "Helpdesk Buttons submission"
SUBMISSION_ERRORS_HEADER = "[Submission Errors]"
RULES_ERROR_PREFIX = "[Rules error]"

# rules variable -> (Autotask Tickets field, human name, parent picklist field)
PICKLIST_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("ticketStatus", "status", "status"),
    ("priority", "priority", "priority"),
    ("queue", "queueID", "queue"),
    ("type", "ticketType", "type"),
    ("source", "source", "source"),
    ("issue", "issueType", "issue"),
    ("subIssue", "subIssueType", "sub-issue"),
    ("category", "ticketCategory", "category"),
)
TEXT_VARIABLES = ("msg", "subject", "append", "priv_append")


class TicketDraft(BaseModel):
    """Everything the dispatcher sends to Autotask for one submission."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, Any] = Field(description="Tickets create body (Swagger TicketModel names)")
    note_title: str
    note_text: str
    submission_errors: list[str] = Field(default_factory=list)


def note_title(submission_id: str) -> str:
    """Our internal note's title: it names the submission, so a retry can find a note it already created."""
    return f"{NOTE_TITLE_PREFIX} {submission_id}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = "\n[... truncated]"
    return text[: limit - len(marker)] + marker


def rule_input(
    submission: Submission, defaults: TicketDefaults, *, contact_name: str, business_name: str
) -> dict[str, Any]:
    """The variables the rules start from: the submission, what Autotask told us, the tenant defaults."""
    return {
        "selections": list(submission.selections),
        "hostname": submission.machine.hostname,
        "email": submission.contact.email,
        "name": submission.contact.name,
        "ip": submission.machine.ip or "",
        "mac": submission.machine.mac or "",
        "contactName": contact_name,
        "businessName": business_name,
        "msg": submission.msg,
        "subject": submission.subject,
        "append": submission.append or "",
        "priority": defaults.priority or "",
        "ticketStatus": defaults.ticketStatus or "",
        "queue": defaults.queue or "",
        "type": defaults.type or "",
        "source": defaults.source or "",
        "issue": defaults.issue or "",
        "subIssue": defaults.subIssue or "",
        "category": defaults.category or "",
        "worktype": defaults.worktype,
        "priv_append": "",
        "exception": None,
    }


def _default_label(defaults: TicketDefaults, variable: str) -> str:
    value = getattr(defaults, variable, None)
    return value if isinstance(value, str) else ""


def _pick(
    picklists: PicklistResolver,
    variable: str,
    field: str,
    human: str,
    wanted: str,
    default_label: str,
    parent: int | None,
    errors: list[str],
) -> int | None:
    """Resolve one picklist: wanted label, else tenant default, else Autotask's default, else None."""
    needs_parent = field == "subIssueType"
    if needs_parent and parent is None:
        if wanted:
            errors.append(f"{human} {wanted!r} was ignored because the ticket has no issue.")
        return None
    if wanted:
        value = picklists.resolve(field, wanted, parent)
        if value is not None:
            return value
    fallback: int | None = None
    how = "none"
    if default_label and default_label.casefold() != wanted.casefold():
        fallback = picklists.resolve(field, default_label, parent)
        if fallback is not None:
            how = f"the default {default_label!r}"
    if fallback is None:
        fallback = picklists.default(field, parent)
        if fallback is not None:
            how = "Autotask's default"
    if wanted:
        errors.append(f"{human} {wanted!r} is not a valid {human} in Autotask; used {how} instead.")
    elif default_label and not how.startswith("the default"):
        errors.append(f"The default {human} {default_label!r} is not a valid {human} in Autotask; used {how} instead.")
    return fallback


def _worktype(wanted: Any, default: int | None, errors: list[str]) -> int | None:
    if wanted is None or wanted == "":
        return default
    if isinstance(wanted, bool):
        ok = None
    elif isinstance(wanted, int):
        ok = wanted
    else:
        text = _text(wanted).strip()
        ok = int(text) if text.isdigit() else None
    if ok is None or ok < 0:
        errors.append(
            f"worktype {wanted!r} is not a work type id (allocation code id); used "
            + (f"the default {default}" if default is not None else "none")
            + " instead."
        )
        return default
    return ok


def describe(msg: str, selections: list[str], append: str) -> str:
    parts = [msg.strip()]
    if selections:
        parts.append("Selections:\n" + "\n".join(f"- {s}" for s in selections))
    if append.strip():
        parts.append(append.strip())
    return _clip("\n\n".join(p for p in parts if p), MAX_DESCRIPTION)


def build_ticket(
    submission: Submission,
    defaults: TicketDefaults,
    variables: dict[str, Any],
    picklists: PicklistResolver,
    *,
    company_id: int,
    contact_id: int | None,
    configuration_item_id: int | None,
    catch_all_used: bool,
    rule_warnings: list[str] | None = None,
    rules_errors: list[str] | None = None,
    submission_errors: list[str] | None = None,
) -> TicketDraft:
    """Map labels to values and assemble the ticket and its internal note.

    `variables` are the rules' output (or `rule_input(...)` when the tenant has no rules); `submission_errors`
    are problems found before mapping (e.g. a failed ai_categorize), listed first under "[Submission Errors]"."""
    errors: list[str] = list(submission_errors or [])
    fields: dict[str, Any] = {"companyID": int(company_id), "externalID": submission.submission_id}
    if contact_id is not None:
        fields["contactID"] = int(contact_id)
    if configuration_item_id is not None:
        fields["configurationItemID"] = int(configuration_item_id)

    issue_value: int | None = None
    for variable, field, human in PICKLIST_VARIABLES:
        wanted = _text(variables.get(variable, "")).strip()
        parent = issue_value if field == "subIssueType" else None
        value = _pick(picklists, variable, field, human, wanted, _default_label(defaults, variable), parent, errors)
        if field == "issueType":
            issue_value = value
        if value is not None:
            fields[field] = value
    worktype = _worktype(variables.get("worktype"), defaults.worktype, errors)
    if worktype is not None:
        fields["billingCodeID"] = worktype

    subject = _text(variables.get("subject")).strip() or submission.subject
    msg = _text(variables.get("msg")) or submission.msg
    selections = [str(s) for s in variables.get("selections", submission.selections) or []]
    fields["title"] = _clip(" ".join(subject.split()), MAX_TITLE)
    fields["description"] = describe(msg, selections, _text(variables.get("append")))

    note = internal_note(
        submission,
        catch_all_used=catch_all_used,
        priv_append=_text(variables.get("priv_append")),
        submission_errors=errors,
        warnings=rule_warnings or [],
        rules_errors=rules_errors or [],
    )
    return TicketDraft(
        fields=fields, note_title=note_title(submission.submission_id), note_text=note, submission_errors=errors
    )


def internal_note(
    submission: Submission,
    *,
    catch_all_used: bool,
    priv_append: str,
    submission_errors: list[str],
    warnings: list[str] | None = None,
    rules_errors: list[str] | None = None,
) -> str:
    m = submission.machine
    user = "\\".join(p for p in (m.domain, m.username) if p)
    lines = [
        "[Machine]",
        f"Hostname: {m.hostname}",
        f"IP address: {m.ip or '-'}",
        f"MAC address: {m.mac or '-'}",
        f"User: {user or '-'}",
        f"Operating system: {m.os or '-'}",
    ]
    c = submission.contact
    if catch_all_used:
        lines += [
            "",
            "[Contact as typed] (no Autotask contact has this e-mail address; the ticket is on the catch-all contact)",
            f"Name: {c.name}",
            f"E-mail: {c.email}",
            f"Phone: {c.phone or '-'}",
            f"Business: {c.business_name or '-'}",
        ]
    if rules_errors:
        lines += [
            "",
            *[f"{RULES_ERROR_PREFIX} {e}" for e in rules_errors],
            "(the Dispatcher Rules failed: this ticket was created with the default values, as if no rules had run)",
        ]
    if priv_append.strip():
        lines += ["", "[Dispatcher Rules]", priv_append.strip()]
    if submission_errors:
        lines += ["", SUBMISSION_ERRORS_HEADER, *[f"- {e}" for e in submission_errors]]
    if warnings:
        lines += ["", "[Rule Warnings]", *[f"- {w}" for w in warnings[:20]]]
    lines += ["", f"Submission id: {submission.submission_id}"]
    return _clip("\n".join(lines), MAX_NOTE)
