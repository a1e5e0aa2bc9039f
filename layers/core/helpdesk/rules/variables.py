"""The Dispatcher Rules variables (Autotask integration) and their defaults.

Read-only variables describe the submission; rules read them but cannot assign them. Read/write variables are
what gets submitted. ``exception`` is the control variable: set it to block the ticket and show the text.
"""

from __future__ import annotations

from typing import Any, Final

from helpdesk.domain.rules import EXCEPTION_VARIABLE, READ_ONLY_VARIABLES, READ_WRITE_VARIABLES, RULE_VARIABLES

READ_ONLY: Final = READ_ONLY_VARIABLES
READ_WRITE: Final = READ_WRITE_VARIABLES
EXCEPTION: Final = EXCEPTION_VARIABLE
ALL: Final = RULE_VARIABLES
READ_ONLY_SET: Final = frozenset(READ_ONLY)


def default_value(name: str) -> Any:
    """The value a variable has when the caller does not supply it."""
    if name == "selections":
        return []
    if name in (EXCEPTION, "worktype"):
        return None
    return ""


# Spellings from the original product's documentation that differ from ours, accepted as the variable itself:
# its dispatcher examples use `business_name` (the Autotask variable is `businessName`), `message` was `msg`'s
# name until 2021, and its Autotask variable table heads the sub-issue `subissue`. Each maps to exactly one
# variable; rules that also use the real name are refused at save (see helpdesk.rules.compiler).
ORIGINAL_SPELLINGS: Final = {"business_name": "businessName", "message": "msg", "subissue": "subIssue"}

# Names tenants plausibly write by mistake (other PSAs' names, old names, other spellings) -> the real variable.
ALIASES: Final = {
    "message": "msg",
    "business_name": "businessName",
    "businessname": "businessName",
    "company": "businessName",
    "contact_name": "contactName",
    "contactname": "contactName",
    "status": "ticketStatus",
    "state": "ticketStatus",
    "ticket_status": "ticketStatus",
    "ticketstatus": "ticketStatus",
    "sub_issue": "subIssue",
    "subissue": "subIssue",
    "issue_type": "issue",
    "issuetype": "issue",
    "sub_issue_type": "subIssue",
    "subissuetype": "subIssue",
    "work_type": "worktype",
    "workType": "worktype",
    "ticket_type": "type",
    "ticketType": "type",
    "title": "subject",
    "board": "queue",
    "team": "queue",
    "ticketSource": "source",
    "private_append": "priv_append",
    "privappend": "priv_append",
    "Priority": "priority",
    "Exception": "exception",
}
