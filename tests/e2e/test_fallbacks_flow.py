"""Configuration mistakes never lose a press, end to end over HTTP (API Gateway -> intake -> SQS -> dispatcher ->
rules Lambda -> the Autotask simulator): with an Autotask that has no default priority and rules that raise,
every press becomes a ticket whose internal note names each fallback. The session devstack (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.autotask_sim import SimTenant
from devstack.autotask_sim.seed import CONTOSO_ID, PRIORITY, QUEUE
from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
from helpdesk.domain.tenant import TicketDefaults
from helpdesk.domain.ticket import RULES_ERROR_PREFIX, SUBMISSION_ERRORS_HEADER
from tests.e2e.agent_calls import submit, wait_final
from tests.e2e.provision import provisioned_tenant

pytestmark = pytest.mark.e2e
TENANT = "e2e-fallbacks"
# An Autotask database of its own (its picklists are changed; the other tests' `demo` database is not).
AUTOTASK = SimTenant(
    database="fallbacks",
    ci=281099,
    username="fallbacks-api@example-msp.com",
    secret="Fallbacks$ecret:1",
    integration_code="FALLBACKSINTEGRATIONCODE01",
)
RULES = """\
if 'Printer' in selections:
    queue = 'Tier 2 Support'
level = int(priority)
if level > 2:
    priority = 'High'
"""


@pytest.fixture(scope="module")
def flow(devstack: Any) -> Iterator[dict[str, Any]]:
    sim = devstack.autotask_sim
    if sim is None:
        pytest.skip("the devstack runs without the Autotask simulator")
    with contextlib.suppress(ValueError):  # already there if an earlier module of this session added it
        sim.add_database(AUTOTASK)
    # Autotask without any default priority; the tenant has none either
    sim.set_picklist_default(AUTOTASK.database, "priority", None)
    defaults = TicketDefaults(queue="Tier 1 Support", priority=None, ticketStatus="New")
    try:
        with provisioned_tenant(
            devstack, TENANT, name="E2E fallbacks MSP", defaults=defaults, rules=RULES, autotask=AUTOTASK
        ) as provisioned:
            submissions = DynamoSubmissionRepository(devstack.resources["SubmissionsTable"]["Ref"])
            yield {**provisioned, "submissions": submissions}
    finally:
        sim.set_picklist_default(AUTOTASK.database, "priority", "Medium")


def _press(flow: dict[str, Any], **over: Any) -> tuple[str, dict[str, Any]]:
    sid = f"e2e-fallback-{uuid.uuid4().hex[:12]}"
    body: dict[str, Any] = {
        "submission_id": sid,
        "contact": {"name": "Alice Anders", "email": "alice@contoso.com"},
        "machine": {"hostname": "CONTOSO-PC1"},
        "msg": "The printer on the second floor is jammed",
        "selections": ["Printer"],
        **over,
    }
    return sid, wait_final(flow, sid, submit(flow, body)["receipt"], timeout_s=60)


def test_rules_that_raise_and_no_default_priority_still_make_a_ticket_with_the_fallbacks_named(
    flow: dict[str, Any],
) -> None:
    sid, view = _press(flow)
    # The end user sees an ordinary created ticket, no Python error
    assert view["status"] == "created" and view["message"] is None and view["ticket_number"]
    [ticket] = [t for t in flow["sim"].tickets(AUTOTASK.database) if t.get("externalID") == sid]
    # as if no rules had run (the queue the rules set before failing is not applied) ...
    assert ticket["queueID"] == QUEUE["Tier 1 Support"] and ticket["companyID"] == CONTOSO_ID
    # ... and Autotask's refusal of a ticket without priority fell back to its first active priority
    assert ticket["priority"] == PRIORITY["Urgent"]
    [note] = ticket["notes"]
    text = note["description"]
    assert f"{RULES_ERROR_PREFIX} line 3: ValueError: invalid literal for int() with base 10: ''" in text
    assert SUBMISSION_ERRORS_HEADER in text and '"priority is required."' in text and "'Urgent' (6)" in text
    # and the admin finds both on the submission
    sub = flow["submissions"].get(TENANT, sid)
    assert sub is not None and sub.rules_errors == ["line 3: ValueError: invalid literal for int() with base 10: ''"]
    assert any(e.startswith("priority (not set)") for e in sub.submission_errors)
