"""Autotask PSA REST client, picklists and typed errors (see docs/autotask.md).

from helpdesk.autotask import AutotaskClient, AutotaskCredentials
creds = AutotaskCredentials.parse("webservices5.autotask.net", "api@msp.com:p@ss:word", "INTEGRATIONCODE")
with AutotaskClient(creds) as at:
    ticket_id = at.create_ticket({...})
"""

from helpdesk.autotask.client import AutotaskClient, RequestEvent, RequestStats
from helpdesk.autotask.config import AutotaskSettings
from helpdesk.autotask.credentials import AutotaskCredentials
from helpdesk.autotask.limiter import LocalConcurrencyLimiter
from helpdesk.autotask.picklists import NotePicklists, TicketPicklists

__all__ = [
    "AutotaskClient",
    "AutotaskCredentials",
    "AutotaskSettings",
    "LocalConcurrencyLimiter",
    "NotePicklists",
    "RequestEvent",
    "RequestStats",
    "TicketPicklists",
]
