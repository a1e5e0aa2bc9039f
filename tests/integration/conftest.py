"""Integration fixtures: the template's data resources inside moto (in-process), and env for handlers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from devstack.autotask_sim import AutotaskSimulator
from devstack.resources import provision

from .dispatch_world import World

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto in-process with every DynamoDB table, SQS queue, bucket and KMS key of template.yaml."""
    for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "HelpdeskButtons")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "integration-test")
    from helpdesk import aws

    aws.client.cache_clear()
    aws.table.cache_clear()
    with mock_aws():
        # The same code that builds the devstack: every data resource exactly as template.yaml defines it.
        bound = provision(TEMPLATE).bound
        names = {logical_id: str(bound[logical_id]["Ref"]) for logical_id in bound}
        env = {
            "TENANTS_TABLE": names["TenantsTable"],
            "SUBMISSIONS_TABLE": names["SubmissionsTable"],
            "WORK_QUEUE_URL": names["WorkQueue"],
            "DEAD_LETTER_QUEUE_URL": names["DeadLetterQueue"],
            "ATTACHMENTS_BUCKET": names["AttachmentsBucket"],
            "CREDENTIALS_KEY_ID": names["CredentialsKey"],
            "RULES_FUNCTION_NAME": "helpdesk-rules",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield env
    aws.client.cache_clear()
    aws.table.cache_clear()


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[AutotaskSimulator]:
    """The Autotask simulator on a free loopback port, with the client's env pointing at it."""
    simulator = AutotaskSimulator(seed_random=7)
    simulator.start()
    for key, value in simulator.client_env().items():
        monkeypatch.setenv(key, value)
    yield simulator
    simulator.stop()


@pytest.fixture
def world(aws_env: dict[str, str], sim: AutotaskSimulator) -> World:
    """CreateTicket wired to moto and the simulator (tests/integration/dispatch_world.py)."""
    return World(sim=sim, env=aws_env)
