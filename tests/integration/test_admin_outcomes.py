"""The admin API's rules replay and press outcomes through the admin handler, on moto (DynamoDB, SQS, KMS), with
the real rules engine in process and the submissions stored by the real repository."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.kms import KmsSecretBox
from helpdesk.admin.rules_local import LocalRulesRunner
from helpdesk.admin.service import AdminService
from helpdesk.domain.submission import Contact, Machine, Submission
from helpdesk.domain.tenant import CredentialKind, Tenant, TicketDefaults
from tests.unit.admin.fakes import FakeGateway
from tests.unit.admin.harness import AdminClient, Answer, load_admin_function

RAISES_ON_LABELS = "if 'urgent' in msg:\n    priority = 'High'\nlevel = int(priority)\n"


@dataclass
class World:
    client: AdminClient
    tenants: DynamoTenantRepository
    submissions: DynamoSubmissionRepository
    env: dict[str, str]
    token_a: str
    token_b: str

    def call(self, method: str, path: str, token: str = "A", **kw: Any) -> Answer:
        return self.client.call(method, path, {"A": self.token_a, "B": self.token_b}.get(token, token), **kw)

    def press(self, tenant_id: str, n: int, msg: str, **changes: Any) -> Submission:
        sub = Submission(
            tenant_id=tenant_id,
            submission_id=f"press-{n:04d}-abcdef",
            contact=Contact(name="Jane Doe", email=f"jane{n}@contoso.com"),
            machine=Machine(hostname=f"PC-{n:03d}"),
            msg=msg,
            subject=msg[:40],
            fingerprint="f",
        )
        stored = self.submissions.create(sub)
        return self.submissions.save(stored.model_copy(update=changes)) if changes else stored


@pytest.fixture
def world(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "admin")
    handler, routes = load_admin_function()
    tenants = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    submissions = DynamoSubmissionRepository(aws_env["SUBMISSIONS_TABLE"])
    routes.use_service(
        AdminService(
            tenants=tenants,
            secrets=KmsSecretBox(aws_env["CREDENTIALS_KEY_ID"]),
            rules=LocalRulesRunner(),
            autotask=FakeGateway(),
            submissions=submissions,
        )
    )
    defaults = TicketDefaults(priority="Medium", queue="Tier 1 Support")
    tenants.create(Tenant(tenant_id="acme", name="Acme IT", defaults=defaults))
    tenants.create(Tenant(tenant_id="bravo", name="Bravo MSP", defaults=defaults))
    token_a = tenants.issue_credential("acme", CredentialKind.ADMIN_TOKEN, "owner").token
    token_b = tenants.issue_credential("bravo", CredentialKind.ADMIN_TOKEN, "owner").token
    yield World(AdminClient(handler), tenants, submissions, aws_env, token_a, token_b)
    routes.use_service(None)


# ---------------------------------------------------------------------- 14.2: rules replayed before they are saved
def test_replay_answers_per_press_what_would_change_and_stores_nothing(world: World) -> None:
    world.press("acme", 1, "The printer jams")
    world.press("bravo", 2, "bravo's printer")
    answer = world.call(
        "POST", "/v1/admin/rules/replay", body={"source": "if 'printer' in msg:\n    queue = 'Tier 2 Support'\n"}
    )
    assert answer.status == 200, answer.text
    replayed = answer.json
    assert replayed["ok"] and [p["submission_id"] for p in replayed["presses"]] == [
        "press-0001-abcdef",
        "sample-from-defaults",
    ]
    first = replayed["presses"][0]
    assert first["outcome"] == "changed"
    assert first["changes"] == {"queue": {"before": "Tier 1 Support", "after": "Tier 2 Support"}}
    assert first["email"] == "jane1@contoso.com" and first["hostname"] == "PC-001"
    assert world.tenants.list_rules_versions("acme") == []


def test_saving_rules_that_raise_on_a_press_needs_confirm_and_409_carries_the_replay(world: World) -> None:
    world.press("acme", 1, "urgent: the server is down")
    refused = world.call("POST", "/v1/admin/rules", body={"source": RAISES_ON_LABELS})
    assert refused.status == 409, refused.text
    body = refused.json
    assert body["error"] == "rules_fail_on_replay" and "line 3" in body["message"]
    assert body["replay"]["failed"] == 2 and body["replay"]["presses"][0]["error"]["line"] == 3
    assert world.tenants.get("acme").rules_version == 0  # nothing saved
    saved = world.call("POST", "/v1/admin/rules", body={"source": RAISES_ON_LABELS, "confirm": True})
    assert saved.status == 201, saved.text
    assert saved.json["version"] == 1 and saved.json["replay"] is None
    fine = world.call("POST", "/v1/admin/rules", body={"source": "priority = 'High'\n"})
    assert fine.status == 201 and fine.json["replay"]["ok"] and fine.json["replay"]["compared_with"] == 1


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"source": "x = 1\n" * 20_000}, 422, "source"),
        ({"source": "x = 1\n", "limit": 51}, 422, "limit"),
        ({"source": "x = 1\n", "confirm": True}, 422, "confirm"),
        ({"source": 5}, 422, "source"),
    ],
    ids=["too-long", "limit-over-50", "unknown-field", "not-text"],
)
def test_bad_replay_requests_get_a_clear_4xx(world: World, body: dict[str, Any], status: int, needle: str) -> None:
    answer = world.call("POST", "/v1/admin/rules/replay", body=body)
    assert answer.status == status, answer.text
    assert needle in answer.json["message"]
