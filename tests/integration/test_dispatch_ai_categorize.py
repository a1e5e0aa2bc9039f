"""A press whose rules call ai_categorize: classified outside the sandbox through the production Bedrock adapter
(against the devstack's stand-in over HTTP), cached per tenant in DynamoDB (moto), never blocking the ticket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.autotask_sim.seed import QUEUE
from devstack.bedrock import BedrockEmulator, StandInServer
from helpdesk import aws
from helpdesk.adapters.bedrock_classifier import BedrockClassifier
from helpdesk.adapters.dynamodb_classifications import DynamoClassificationCache
from helpdesk.dispatch.create_ticket import Outcome
from helpdesk.domain.submission import SubmissionStatus
from helpdesk.domain.ticket import SUBMISSION_ERRORS_HEADER

from .dispatch_world import TENANT, World

ORIGINAL_RULES = """r = ai_categorize(msg, ['Printer', 'Network', 'Email'])
if r['best_match'] == 'Printer':
    queue = 'Tier 2 Support'
"""


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch, world: World) -> Iterator[BedrockEmulator]:
    with StandInServer() as stand_in:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", stand_in.url)
        aws.client.cache_clear()
        world.deps.classifier = BedrockClassifier("amazon.nova-micro-v1:0")
        world.deps.classification_cache = DynamoClassificationCache(world.env["TENANTS_TABLE"])
        yield stand_in.emulator
    aws.client.cache_clear()


def test_rules_from_the_original_product_route_by_the_classification(world: World, bedrock: BedrockEmulator):
    world.add_tenant(rules=ORIGINAL_RULES)
    world.submit("sub-ai-0001", msg="The printer on floor 2 is jammed and shows a paper error")
    assert world.create(world.work("sub-ai-0001")) is Outcome.CREATED
    [ticket] = world.ticket_for("sub-ai-0001")
    assert ticket["queueID"] == QUEUE["Tier 2 Support"]
    assert SUBMISSION_ERRORS_HEADER not in ticket["notes"][0]["description"]
    sub = world.submissions.get(TENANT, "sub-ai-0001")
    assert sub is not None and sub.rules_outcome is not None
    [classification] = sub.rules_outcome.classifications
    assert classification.result()["best_match"] == "Printer" and classification.error is None
    assert classification.input_tokens > 0 and bedrock.calls == 1
    assert world.metrics["ClassifierCalls"] == 1 and world.metrics["RulesRuns"] == 2


def test_the_same_question_from_the_same_tenant_is_answered_from_the_cache(world: World, bedrock: BedrockEmulator):
    world.add_tenant(rules=ORIGINAL_RULES)
    for sid in ("sub-ai-0002", "sub-ai-0003"):
        world.submit(sid, msg="printer jammed")
        assert world.create(world.work(sid)) is Outcome.CREATED
    assert bedrock.calls == 1 and world.metrics["ClassificationCacheHits"] == 1
    second = world.submissions.get(TENANT, "sub-ai-0003")
    assert second is not None and second.rules_outcome is not None
    assert second.rules_outcome.classifications[0].cached


@pytest.mark.parametrize("fault", ["ThrottlingException", "refusal"])  # every error kind: tests/unit/triage
def test_a_failing_model_never_blocks_the_ticket(world: World, bedrock: BedrockEmulator, fault: str):
    world.add_tenant(rules=ORIGINAL_RULES)
    world.submit("sub-ai-0004", msg="printer jammed")
    bedrock.fail_next(2, fault)  # the adapter retries a throttle once
    assert world.create(world.work("sub-ai-0004")) is Outcome.CREATED
    [ticket] = world.ticket_for("sub-ai-0004")
    assert ticket["queueID"] != QUEUE["Tier 2 Support"]  # best_match was None: the rule did not fire
    note = ticket["notes"][0]["description"]
    assert SUBMISSION_ERRORS_HEADER in note and "ai_categorize could not classify the text" in note
    sub = world.submissions.get(TENANT, "sub-ai-0004")
    assert sub is not None and sub.status is SubmissionStatus.CREATED
    assert any("ai_categorize" in e for e in sub.submission_errors)
