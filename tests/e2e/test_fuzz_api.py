"""Schemathesis against the service's OpenAPI documents, over real HTTP to the session devstack (API Gateway
emulator -> the functions -> moto), for every public route: 0 server errors, 0 responses outside the schema
(status codes, content types, bodies), in a bounded number of examples per operation.

Documents: the button agent API as the devstack serves it (GET /v1/openapi.json, generated from the intake routes;
the same text as the committed docs/openapi.json), and the admin API (GET /v1/admin/openapi.json, generated from
the admin routes). The callout/webhook routes take Autotask's bodies, not ours, so they have no generated document:
CALLOUT_OPENAPI below describes them (a token in the path, any body, 2xx or a clear 4xx), and tests/e2e/
test_bad_input.py covers their garbage inputs one by one.

Each document is fuzzed as a dedicated tenant with a valid button key / admin token (so generated requests reach
the use cases, not just the 401), and without credentials. HELPDESK_FUZZ_EXAMPLES sets examples per operation
(default 15, positive and negative each).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.client_env import StackEnv
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.domain.tenant import CredentialKind, Tenant

pytestmark = pytest.mark.e2e
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
EXAMPLES = int(os.environ.get("HELPDESK_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples in every run: a red CI run reproduces locally
    suppress_health_check=list(HealthCheck),
)
CLEAR_4XX = {
    "description": "A clear refusal",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
            }
        }
    },
}
CALLOUT_OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Helpdesk Buttons: Autotask notifications (callouts and webhooks)", "version": "1.0.0"},
    "paths": {
        f"/v1/{kind}/{{token}}": {
            "post": {
                "operationId": f"receive_{kind}",
                "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {"schema": {}},
                        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                        "text/plain": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "200": {"description": "Recorded (or a harmless repeat)"},
                    "202": {"description": "Accepted"},
                    "204": {"description": "Nothing to do"},
                    "400": CLEAR_4XX,
                    "401": CLEAR_4XX,
                    "403": CLEAR_4XX,
                    "404": CLEAR_4XX,
                    "413": CLEAR_4XX,
                    "415": CLEAR_4XX,
                    "422": CLEAR_4XX,
                    "429": CLEAR_4XX,
                },
            }
        }
        for kind in ("callouts", "webhooks")
    },
}


@pytest.fixture(scope="module")
def fuzz_tenant(devstack: Any) -> dict[str, str]:
    stack_env = StackEnv(devstack.env)
    stack_env.apply()
    try:
        tenants = DynamoTenantRepository(devstack.resources["TenantsTable"]["Ref"])
        tenant_id = f"e2e-fuzz-{uuid.uuid4().hex[:8]}"
        tenants.create(Tenant(tenant_id=tenant_id, name="Fuzz MSP"))
        return {
            "tenant_id": tenant_id,
            "button": tenants.issue_credential(tenant_id, CredentialKind.BUTTON_KEY, label="fuzz").token,
            "admin": tenants.issue_credential(tenant_id, CredentialKind.ADMIN_TOKEN, label="fuzz").token,
            "callout": tenants.issue_credential(tenant_id, CredentialKind.CALLOUT_TOKEN, label="fuzz").token,
        }
    finally:
        stack_env.restore()


@pytest.fixture(scope="module")
def intake_api(devstack: Any) -> Any:
    answer = requests.get(f"{devstack.api_url}/v1/openapi.json", timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json() == json.loads(COMMITTED.read_text()), "the served document differs from docs/openapi.json"
    return schemathesis.openapi.from_dict(answer.json())  # as served: no patching


@pytest.fixture(scope="module")
def admin_api(devstack: Any) -> Any:
    answer = requests.get(f"{devstack.api_url}/v1/admin/openapi.json", timeout=60)
    assert answer.status_code == 200, answer.text
    return schemathesis.openapi.from_dict(answer.json())  # as served: every refusal is documented


@pytest.fixture(scope="module")
def callout_api() -> Any:
    return schemathesis.openapi.from_dict(CALLOUT_OPENAPI)


def _fuzz(
    schema: Any,
    base_url: str,
    headers: dict[str, str],
    checks: list[Any],
    override: Any = None,
) -> int:
    """Every operation, positive and negative examples (bounded). Failures are collected (not shrunk) and reported
    together. Returns the number of requests sent."""
    failures: dict[str, int] = {}
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                nonlocal sent
                if override:
                    override(case)
                sent += 1
                try:
                    case.call_and_validate(base_url=base_url, headers=headers, checks=checks, timeout=60)
                except (Exception, BaseExceptionGroup) as exc:  # a check failed: keep it and the request, go on
                    lines = [x for x in str(exc).splitlines() if x.strip() and not x.startswith("Reproduce")]
                    key = f"{operation.label} [{mode.value}]: " + " / ".join(x.strip() for x in lines[:4])
                    if key not in failures:
                        print(f"FUZZ FAILURE {key}")
                    failures[key] = failures.get(key, 0) + 1

            try:
                run()
            except Unsatisfiable:  # e.g. no negative examples for an operation without parameters or body
                continue
    summary = "\n".join(f"{n}x {key}" for key, n in failures.items())
    assert not failures, f"{sum(failures.values())} of {sent} requests failed:\n{summary}"
    return sent


@pytest.mark.timeout(900)
def test_button_agent_api_answers_within_its_schema(
    devstack: Any, intake_api: Any, fuzz_tenant: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {fuzz_tenant['button']}"}
    sent = _fuzz(intake_api, devstack.api_url, auth, CHECKS)
    anonymous = _fuzz(intake_api, devstack.api_url, {}, CHECKS)  # and without credentials
    print(f"button agent API: {sent + anonymous} requests, 0 server errors, 0 answers outside the schema")


@pytest.mark.timeout(900)
def test_admin_api_answers_within_its_schema(devstack: Any, admin_api: Any, fuzz_tenant: dict[str, str]) -> None:
    # Every check is strict, status codes included: the routes that answer 201 declare it (`responses=`).
    auth = {"Authorization": f"Bearer {fuzz_tenant['admin']}"}
    sent = _fuzz(admin_api, devstack.api_url, auth, CHECKS)
    print(f"admin API: {sent} requests, 0 server errors, 0 bodies outside the schema")


@pytest.mark.timeout(600)
def test_callout_routes_never_fail_on_any_body(devstack: Any, callout_api: Any, fuzz_tenant: dict[str, str]) -> None:
    def real_token_half_the_time(case: Any) -> None:
        if case.path_parameters is not None and len(str(case.body)) % 2:
            case.path_parameters["token"] = fuzz_tenant["callout"]

    sent = _fuzz(
        callout_api, devstack.api_url, {}, [not_a_server_error, status_code_conformance], real_token_half_the_time
    )
    print(f"callout/webhook routes: {sent} requests, 0 server errors, 0 undocumented status codes")
