"""The devstack's API Gateway in front of the real intake function (template.yaml routes, real worker)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_health_goes_through_api_gateway_to_the_intake_worker_and_dynamodb(devstack: Any) -> None:
    # Given the running stack
    before = devstack.stats()["functions"]["IntakeFunction"]["invocations"]
    # When the agent checks health under the stage prefix
    response = requests.get(f"{devstack.api_url}/v1/health", timeout=30)
    # Then the intake function answered after reading its DynamoDB table, in its own worker process
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    assert response.json()["tenants_table"] == "reachable"
    assert response.headers["Content-Type"].startswith("application/json")
    assert "x-amzn-RequestId" in response.headers
    stats = devstack.stats()["functions"]["IntakeFunction"]
    assert stats["invocations"] == before + 1
    assert stats["workers"] >= 1 and stats["peak_rss_mb"] > 0


def test_health_keeps_the_worker_warm(devstack: Any) -> None:
    requests.get(f"{devstack.api_url}/v1/health", timeout=30).raise_for_status()
    cold = devstack.stats()["functions"]["IntakeFunction"]["cold_starts"]
    for _ in range(3):
        assert requests.get(f"{devstack.api_url}/v1/health", timeout=30).status_code == 200
    assert devstack.stats()["functions"]["IntakeFunction"]["cold_starts"] == cold


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/nope"), ("POST", "/v1/health"), ("GET", "/"), ("DELETE", "/v1/tickets/123")],
)
def test_unknown_route_or_method_is_missing_authentication_token(devstack: Any, method: str, path: str) -> None:
    response = requests.request(method, f"{devstack.api_url}{path}", timeout=30)
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_wrong_stage_is_forbidden(devstack: Any) -> None:
    response = requests.get(f"{devstack.api_base_url}/notastage/v1/health", timeout=30)
    assert response.status_code == 403


def test_body_over_10_mb_is_rejected_before_any_function_runs(devstack: Any) -> None:
    before = devstack.stats()["functions"]["IntakeFunction"]["invocations"]
    response = requests.post(
        f"{devstack.api_url}/v1/tickets",
        data=b"x" * (11 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413
    # the template's REQUEST_TOO_LARGE gateway response: the API's own error body, not API Gateway's default
    assert response.json()["error"] == "too_large"
    assert devstack.stats()["functions"]["IntakeFunction"]["invocations"] == before


def test_outputs_point_at_the_local_api(devstack: Any) -> None:
    assert devstack.outputs["ApiUrl"] == devstack.api_url
    assert devstack.outputs["TenantsTableName"] == devstack.resources["TenantsTable"]["Ref"]
    assert devstack.outputs["WorkQueueUrl"] == devstack.resources["WorkQueue"]["Ref"]
