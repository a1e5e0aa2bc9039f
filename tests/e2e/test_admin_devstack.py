"""The admin API on the devstack: API Gateway -> admin worker -> DynamoDB/KMS, the real Autotask client against
the simulator, and the real `rules` function through the Lambda Invoke API."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(devstack: Any) -> dict[str, str]:
    from devstack.seed import seed_demo

    return seed_demo(devstack)


def admin(devstack: Any, demo: dict[str, str], method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(
        method,
        f"{devstack.api_url}/v1/admin{path}",
        headers={"Authorization": f"Bearer {demo['admin_token']}"},
        timeout=60,
        **kw,
    )


def test_integration_test_passes_against_the_simulator(devstack: Any, demo: dict[str, str]) -> None:
    answer = admin(devstack, demo, "POST", "/integration-test")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert report["ok"] is True, failed
    ids = [c["id"] for c in report["checks"]]
    assert {"zone", "authentication", "perm_tickets_create", "contact", "default_priority", "rules"} <= set(ids)


def test_integration_test_reports_a_wrong_password(devstack: Any, demo: dict[str, str]) -> None:
    from devstack.autotask_sim import DEMO

    # Given a second tenant with the demo API user but a wrong password
    from devstack.seed import _stack_env, helpdesk

    tenant = "wrongpass-" + uuid.uuid4().hex[:6]
    with _stack_env(devstack, {}):
        created = helpdesk(
            "tenants",
            "create",
            tenant,
            "--name",
            "Wrong password",
            "--tenants-table",
            devstack.resources["TenantsTable"]["Ref"],
        )
    token = created["admin_token"]
    headers = {"Authorization": f"Bearer {token}"}
    sim = devstack.autotask_sim
    body = {
        "autotask": {
            "host": sim.host,
            "api_key": f"{DEMO.username}:not-the-password",
            "integration_code": DEMO.integration_code,
        }
    }
    assert requests.put(f"{devstack.api_url}/v1/admin/settings", json=body, headers=headers, timeout=60).ok
    report = requests.post(f"{devstack.api_url}/v1/admin/integration-test", headers=headers, timeout=60).json()
    checks = {c["id"]: c for c in report["checks"]}
    assert report["ok"] is False
    assert checks["authentication"]["status"] == "fail"
    assert checks["authentication"]["message"].startswith("There was an error authenticating")
    assert "not-the-password" not in str(report)


def test_picklists_are_read_from_the_simulator(devstack: Any, demo: dict[str, str]) -> None:
    answer = admin(devstack, demo, "GET", "/picklists", params={"refresh": "true"})
    assert answer.status_code == 200, answer.text
    fields = answer.json()["fields"]
    assert "Tier 1 Support" in [o["label"] for o in fields["queue"]]
    assert {"Critical", "High", "Medium", "Low"} <= {o["label"] for o in fields["priority"]}
    assert "Remote Support" in [o["label"] for o in fields["worktype"]]
    assert all(o["parent"] for o in fields["subIssue"])


def test_rules_are_validated_by_the_rules_function(devstack: Any, demo: dict[str, str]) -> None:
    bad = admin(devstack, demo, "POST", "/rules", json={"source": "priority = 'High'\nif msg\n    pass\n"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["fields"][0]["line"] == 2
    tested = admin(
        devstack,
        demo,
        "POST",
        "/rules/test",
        json={"source": "if '!' in msg:\n    priority = 'High'\n", "variables": {"msg": "Help!", "priority": "Medium"}},
    )
    assert tested.status_code == 200, tested.text
    assert tested.json()["changed"] == {"priority": "High"}
    unknown = admin(devstack, demo, "POST", "/rules/test", json={"source": "x = 1", "variables": {"colour": "red"}})
    assert unknown.status_code == 422


def test_webhooks_are_registered_in_the_simulator(devstack: Any, demo: dict[str, str]) -> None:
    answer = admin(devstack, demo, "POST", "/webhooks")
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view["registered"] is True and view["ticket_webhook_id"] and view["note_webhook_id"]
    removed = admin(devstack, demo, "DELETE", "/webhooks")
    assert removed.status_code == 200 and removed.json()["registered"] is False


def test_settings_page_is_served_through_api_gateway(devstack: Any) -> None:
    page = requests.get(f"{devstack.api_url}/admin", timeout=60)
    assert page.status_code == 200 and "Integration Test" in page.text
    stage = devstack.api_url.rsplit("/", 1)[1]
    assert f'src="/{stage}/admin/app.js"' in page.text
    assert requests.get(f"{devstack.api_url}/admin/app.js", timeout=60).status_code == 200


def test_integration_test_names_a_missing_permission_read_from_entity_information(
    devstack: Any, demo: dict[str, str]
) -> None:
    sim = devstack.autotask_sim
    sim.set_entity_access("demo", "Tickets", userAccessForCreate=False)
    try:
        report = admin(devstack, demo, "POST", "/integration-test").json()
    finally:
        sim.set_entity_access("demo", "Tickets", userAccessForCreate=True)
    checks = {c["id"]: c for c in report["checks"]}
    assert report["ok"] is False
    assert checks["perm_tickets_create"]["status"] == "fail"
    assert checks["perm_tickets_create"]["message"].startswith("There was an error involving permissions in your PSA.")
    assert checks["perm_tickets_edit"]["status"] == "pass"
    assert checks["perm_tickets_edit"]["message"] == "The API user may edit tickets."  # verified, not probed
