"""ai_categorize end to end over HTTP: API Gateway -> intake -> SQS -> dispatcher -> rules Lambda (stops at the
question) -> the Bedrock runtime endpoint (the devstack's stand-in, through the production adapter) -> rules again
-> the Autotask simulator. Also the failure path (the model throttles: the ticket is still created, its note says
why) and the admin's test run showing the scores. The session devstack (tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.autotask_sim.seed import QUEUE
from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
from helpdesk.domain.tenant import CredentialKind, TicketDefaults
from helpdesk.domain.ticket import SUBMISSION_ERRORS_HEADER
from tests.e2e.agent_calls import submit, wait_final
from tests.e2e.provision import provisioned_tenant

pytestmark = pytest.mark.e2e
TENANT = "e2e-ai-categorize"
# A rule from the original product's documentation, unchanged.
RULES = """\
r = ai_categorize(msg, ['Printer', 'Network', 'Email'])
if r['best_match'] == 'Printer':
    queue = 'Tier 2 Support'
"""


@pytest.fixture(scope="module")
def flow(devstack: Any) -> Iterator[dict[str, Any]]:
    defaults = TicketDefaults(queue="Tier 1 Support", priority="Medium", ticketStatus="New")
    with provisioned_tenant(devstack, TENANT, name="E2E AI MSP", defaults=defaults, rules=RULES) as provisioned:
        submissions = DynamoSubmissionRepository(devstack.resources["SubmissionsTable"]["Ref"])
        yield {**provisioned, "submissions": submissions}


def _press(flow: dict[str, Any], msg: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    sid = f"e2e-ai-{uuid.uuid4().hex[:12]}"
    body = {
        "submission_id": sid,
        "contact": {"name": "Alice Anders", "email": "alice@contoso.com"},
        "machine": {"hostname": "CONTOSO-PC1"},
        "msg": msg,
    }
    view = wait_final(flow, sid, submit(flow, body)["receipt"], timeout_s=60)
    [ticket] = [t for t in flow["sim"].tickets("demo") if t.get("externalID") == sid]
    return sid, view, ticket


def test_a_rule_from_the_original_product_routes_a_press_by_what_the_user_wrote(flow: dict[str, Any]) -> None:
    calls = flow["stack"].bedrock.calls
    sid, view, ticket = _press(flow, f"The printer on floor 2 is jammed again ({uuid.uuid4().hex[:6]})")
    assert view["status"] == "created"
    assert ticket["queueID"] == QUEUE["Tier 2 Support"]
    assert SUBMISSION_ERRORS_HEADER not in ticket["notes"][0]["description"]
    assert flow["stack"].bedrock.calls == calls + 1
    sub = flow["submissions"].get(TENANT, sid)
    assert sub is not None and sub.rules_outcome is not None
    [answer] = sub.rules_outcome.classifications
    assert answer.result()["best_match"] == "Printer" and answer.model == "amazon.nova-micro-v1:0"


def test_a_throttled_model_still_makes_the_ticket_and_the_note_says_why(flow: dict[str, Any]) -> None:
    flow["stack"].bedrock.fail_next(2, "ThrottlingException")  # the call and its one retry
    sid, view, ticket = _press(flow, f"Printer shows paper jam in tray 2 ({uuid.uuid4().hex[:6]})")
    assert view["status"] == "created" and view["message"] is None
    assert ticket["queueID"] == QUEUE["Tier 1 Support"]  # best_match None: the default route
    note = ticket["notes"][0]["description"]
    assert SUBMISSION_ERRORS_HEADER in note
    assert "ai_categorize could not classify the text (the model could not be called (ThrottlingException))" in note
    sub = flow["submissions"].get(TENANT, sid)
    assert sub is not None and any(e.startswith("ai_categorize could not classify") for e in sub.submission_errors)


def test_the_admin_test_run_shows_each_classification_with_its_scores(flow: dict[str, Any]) -> None:
    token = flow["tenants"].issue_credential(TENANT, CredentialKind.ADMIN_TOKEN, label="e2e-ai").token
    answer = requests.post(
        f"{flow['api']}/v1/admin/rules/test",
        json={"source": RULES, "variables": {"msg": "Outlook will not send my emails"}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    [shown] = answer.json()["classifications"]
    assert shown["categories"] == ["Printer", "Network", "Email"]
    assert shown["best_match"] == "Email" and shown["scores"]["Email"] > 80 and shown["error"] is None
