"""Seed data for the Autotask simulator: the `demo` database (used by `make run`) and a second MSP.

Picklists follow real tenant metadata (research-autotask-api.md section 5): status 1 New / 5 Complete /
7 Waiting Customer / 8 In Progress; priorities tenant-defined and NOT 1..n in order (1 Critical, 2 Medium,
3 Low, 5 High, 6 Urgent); sub-issue types keyed by `parentValue`; inactive values present on purpose.
Other helpers' tests import `DEMO` (credentials) and the ids below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SimTenant:
    database: str  # name used in /_sim/tenants/{database}/...
    ci: int  # zoneInformation `ci`
    username: str
    secret: str
    integration_code: str

    @property
    def api_key(self) -> str:
        """As the MSP admin types it: `username@domain:password` (the password has `@` and `:` on purpose)."""
        return f"{self.username}:{self.secret}"


DEMO = SimTenant(
    database="demo",
    ci=281001,
    username="demo-api@example-msp.com",
    secret="Demo$ecret:with@colon",  # noqa: S106 (simulator demo credentials, public by design)
    integration_code="DEMOINTEGRATIONCODE00000001",
)
NORTHWIND = SimTenant(
    database="northwind",
    ci=281002,
    username="nw-api@northwind-msp.com",
    secret="Northwind-Secret-2",  # noqa: S106
    integration_code="NORTHWINDINTEGRATIONCODE002",
)
TENANTS = (DEMO, NORTHWIND)

MSP_COMPANY_ID = 0
CONTOSO_ID = 174
FABRIKAM_ID = 175
UNREGISTERED_EMAIL = "unregistered@helpdeskbuttons.com"
API_RESOURCE_ID = 29682885  # the API user's resource (creatorResourceID of API-created notes)
TECHNICIAN_RESOURCE_ID = 29682890  # "Terry Technician", used by the technician control endpoint

STATUS = {"New": 1, "Complete": 5, "Waiting Customer": 7, "In Progress": 8}
PRIORITY = {"Critical": 1, "Medium": 2, "Low": 3, "High": 5, "Urgent": 6}
QUEUE = {"Client Portal": 29683354, "Tier 1 Support": 29682833, "Tier 2 Support": 29682969}
ISSUE = {"Hardware": 4, "Software": 7, "Network": 9}
SUB_ISSUE = {("Hardware", "Server"): 11, ("Hardware", "Printer"): 13, ("Network", "Printer"): 31}
WORK_TYPE_REMOTE = 29682801


def pv(
    value: int,
    label: str,
    *,
    default: bool = False,
    active: bool = True,
    system: bool = False,
    parent: int | None = None,
) -> dict[str, Any]:
    return {
        "value": str(value),
        "label": label,
        "isDefaultValue": default,
        "sortOrder": 0,
        "parentValue": "" if parent is None else str(parent),
        "isActive": active,
        "isSystem": system,
    }


def _ordered(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, v in enumerate(values, start=1):
        v["sortOrder"] = i
    return values


def ticket_picklists() -> dict[str, list[dict[str, Any]]]:
    return {
        "status": _ordered(
            [
                pv(1, "New", default=True, system=True),
                pv(8, "In Progress"),
                pv(7, "Waiting Customer", system=True),
                pv(10, "Escalated"),
                pv(9, "Waiting Materials", active=False),
                pv(5, "Complete", system=True),
            ]
        ),
        # Tenant-defined, not 1..n in order (research section 5, rule 4).
        "priority": _ordered(
            [
                pv(6, "Urgent"),
                pv(1, "Critical"),
                pv(5, "High"),
                pv(2, "Medium", default=True),
                pv(3, "Low"),
                pv(4, "Obsolete", active=False),
            ]
        ),
        "queueID": _ordered(
            [
                pv(29683354, "Client Portal"),
                pv(29682833, "Tier 1 Support", default=True),
                pv(29682969, "Tier 2 Support"),
                pv(29683001, "Old Queue", active=False),
            ]
        ),
        "issueType": _ordered([pv(4, "Hardware"), pv(7, "Software"), pv(9, "Network"), pv(12, "Legacy", active=False)]),
        "subIssueType": _ordered(
            [
                pv(11, "Server", parent=4),
                pv(12, "Workstation", parent=4),
                pv(13, "Printer", parent=4),
                pv(21, "Email", parent=7),
                pv(22, "Office", parent=7),
                pv(30, "Wi-Fi", parent=9),
                pv(31, "Printer", parent=9),
                pv(32, "VPN", parent=9, active=False),
            ]
        ),
        "source": _ordered(
            [
                pv(-1, "Client Portal", system=True),
                pv(1, "Other", system=True),
                pv(2, "Phone", system=True),
                pv(4, "Email", system=True),
                pv(8, "Helpdesk Button", default=True),
                pv(6, "Web Portal", active=False),
            ]
        ),
        "ticketType": _ordered(
            [
                pv(1, "Service Request", default=True, system=True),
                pv(2, "Incident", system=True),
                pv(3, "Problem", system=True),
                pv(4, "Change Request", system=True),
                pv(5, "Alert", system=True),
            ]
        ),
        "ticketCategory": _ordered(
            [
                pv(3, "Standard", default=True, system=True),
                pv(2, "AEM Alert", system=True),
                pv(4, "Helpdesk Buttons"),
                pv(5, "Old Category", active=False),
            ]
        ),
    }


def note_picklists() -> dict[str, list[dict[str, Any]]]:
    # Integers for publish other than 1 and all noteType labels are unverified [I] (research section 4.4).
    return {
        "noteType": _ordered(
            [
                pv(1, "Task Detail", default=True),
                pv(2, "Task Summary"),
                pv(3, "Task Notes"),
                pv(13, "Old", active=False),
            ]
        ),
        "publish": _ordered([pv(1, "All Autotask Users", default=True), pv(2, "Internal Only")]),
    }


# Ticket / note field names a webhook may subscribe to, with their `fieldID`s [I: ids are tenant data].
TICKET_WEBHOOK_FIELDS = {
    "status": 1,
    "priority": 2,
    "queueID": 3,
    "title": 4,
    "description": 5,
    "assignedResourceID": 6,
    "lastActivityDate": 7,
    "ticketNumber": 8,
    "companyID": 9,
    "contactID": 10,
    "issueType": 11,
    "subIssueType": 12,
    "dueDateTime": 13,
    "completedDate": 14,
    "externalID": 15,
}
NOTE_WEBHOOK_FIELDS = {
    "ticketID": 1,
    "title": 2,
    "description": 3,
    "publish": 4,
    "noteType": 5,
    "createDateTime": 6,
    "creatorResourceID": 7,
}


def companies() -> list[dict[str, Any]]:
    return [
        {"id": MSP_COMPANY_ID, "companyName": "Example MSP", "companyType": 5, "isActive": True},
        {"id": CONTOSO_ID, "companyName": "Contoso Ltd.", "companyType": 1, "isActive": True},
        {"id": FABRIKAM_ID, "companyName": "Fabrikam, Inc.", "companyType": 1, "isActive": True},
        {"id": 176, "companyName": "Old Customer LLC", "companyType": 1, "isActive": False},
    ]


def contacts() -> list[dict[str, Any]]:
    return [
        {
            "id": 30682001,
            "companyID": CONTOSO_ID,
            "firstName": "Alice",
            "lastName": "Anders",
            "emailAddress": "alice@contoso.com",
            "isActive": 1,
        },
        {
            "id": 30682002,
            "companyID": CONTOSO_ID,
            "firstName": "Bob",
            "lastName": "Brown",
            "emailAddress": "bob@contoso.com",
            "emailAddress2": "robert.brown@contoso.com",
            "isActive": 1,
        },
        {
            "id": 30682003,
            "companyID": CONTOSO_ID,
            "firstName": "Carol",
            "lastName": "Former",
            "emailAddress": "carol@contoso.com",
            "isActive": 0,
        },
        {
            "id": 30682004,
            "companyID": FABRIKAM_ID,
            "firstName": "Dave",
            "lastName": "Diaz",
            "emailAddress": "dave@fabrikam.com",
            "isActive": 1,
        },
        {
            "id": 30682000,
            "companyID": MSP_COMPANY_ID,
            "firstName": "Unregistered",
            "lastName": "User",
            "emailAddress": UNREGISTERED_EMAIL,
            "isActive": 1,
        },
    ]


def configuration_items() -> list[dict[str, Any]]:
    return [
        {"id": 40001, "companyID": CONTOSO_ID, "referenceTitle": "CONTOSO-PC1", "isActive": True, "productID": 1},
        {"id": 40002, "companyID": CONTOSO_ID, "referenceTitle": "CONTOSO-PC2", "isActive": False, "productID": 1},
        {"id": 40003, "companyID": CONTOSO_ID, "referenceTitle": "SHARED-PC", "isActive": True, "productID": 1},
        {"id": 40004, "companyID": FABRIKAM_ID, "referenceTitle": "SHARED-PC", "isActive": True, "productID": 1},
        {"id": 40005, "companyID": FABRIKAM_ID, "referenceTitle": "FABRIKAM-PC1", "isActive": True, "productID": 1},
    ]


def billing_codes() -> list[dict[str, Any]]:
    return [
        {"id": WORK_TYPE_REMOTE, "name": "Remote Support", "isActive": True, "useType": 1, "billingCodeType": 0},
        {"id": 29682802, "name": "Onsite Support", "isActive": True, "useType": 1, "billingCodeType": 0},
        {"id": 29682803, "name": "Legacy Work", "isActive": False, "useType": 1, "billingCodeType": 0},
    ]
