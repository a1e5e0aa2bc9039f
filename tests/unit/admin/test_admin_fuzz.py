"""Property: whatever JSON an admin (or attacker with a token) sends, the admin API answers < 500, and every 4xx
leaves the tenant exactly as it was. Runs the real handler over in-memory fakes (no AWS)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.domain.tenant import CredentialKind, Tenant
from tests.unit.admin.fakes import make_service
from tests.unit.admin.harness import AdminClient, load_admin_function

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
SETTINGS_KEYS = ["name", "autotask", "defaults", "notifications", "revision", "api_key", "host"]
AUTOTASK_KEYS = ["host", "api_key", "integration_code", "unregistered_email", "password"]
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "name": json_values,
            "autotask": st.dictionaries(st.sampled_from(AUTOTASK_KEYS), json_values, max_size=4),
            "defaults": st.dictionaries(
                st.sampled_from(["queue", "priority", "worktype", "subIssue", "x"]), json_values
            ),
            "notifications": json_values,
            "revision": json_values,
        },
    ),
)
ROUTES = [
    ("PUT", "/v1/admin/settings"),
    ("PATCH", "/v1/admin/settings"),
    ("POST", "/v1/admin/rules"),
    ("POST", "/v1/admin/rules/validate"),
    ("POST", "/v1/admin/rules/test"),
    ("POST", "/v1/admin/rules/rollback"),
    ("POST", "/v1/admin/rules/replay"),
    ("POST", "/v1/admin/keys"),
]


@pytest.fixture(scope="module")
def world() -> Any:
    os.environ.setdefault("TENANTS_TABLE", "t")
    os.environ.setdefault("SUBMISSIONS_TABLE", "s")
    os.environ.setdefault("CREDENTIALS_KEY_ID", "k")
    os.environ.setdefault("RULES_FUNCTION_NAME", "r")
    os.environ.setdefault("WORK_QUEUE_URL", "q")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "test")
    handler, routes = load_admin_function()
    service, repo, _, _ = make_service()
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    token = repo.issue_credential("acme", CredentialKind.ADMIN_TOKEN).token
    routes.use_service(service)
    yield AdminClient(handler), repo, token
    routes.use_service(None)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), body=bodies)
def test_any_body_gets_a_clear_answer_and_a_refusal_changes_nothing(
    world: Any, route: tuple[str, str], body: Any
) -> None:
    client, repo, token = world
    before = (repo.get("acme"), len(repo.list_rules_versions("acme")), len(repo.credentials))
    answer = client.call(route[0], route[1], token, raw_body=json.dumps(body))
    assert answer.status < 500, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    if answer.status >= 400:
        assert set(answer.json) >= {"error", "message"}
        assert (repo.get("acme"), len(repo.list_rules_versions("acme")), len(repo.credentials)) == before
