"""The Bedrock adapter against Converse responses in the shapes Bedrock records (checked by botocore's Stubber
against the bedrock-runtime service model), and against its errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from helpdesk import aws
from helpdesk.adapters.bedrock_classifier import BedrockClassifier, converse_arguments, parse_scores
from helpdesk.domain.rules import ClassificationRequest

MODEL = "amazon.nova-micro-v1:0"
QUESTION = ClassificationRequest(
    text="Der Drucker im 2. Stock druckt nicht", categories=["Printer", "Network", "Email"]
)


def converse_response(text: str, stop: str = "end_turn", usage: tuple[int, int] = (212, 31)) -> dict[str, Any]:
    """A Converse response as Amazon Nova returns it (output.message.content[].text, stopReason, usage, metrics)."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": usage[0], "outputTokens": usage[1], "totalTokens": sum(usage)},
        "metrics": {"latencyMs": 312},
    }


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.session.Session().client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    monkeypatch.setattr(aws, "client", lambda service: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect(stub: Stubber, response: dict[str, Any]) -> None:
    stub.add_response("converse", response, {**converse_arguments(MODEL, QUESTION), "system": ANY})


def test_a_json_answer_becomes_scores_with_the_token_usage(stub: Stubber):
    expect(stub, converse_response('{"scores": {"Printer": 97, "Network": 12, "Email": 0}}'))
    answer = BedrockClassifier(MODEL).classify(QUESTION)
    assert answer.error is None and answer.model == MODEL
    assert answer.scores == {"Printer": 97, "Network": 12, "Email": 0}
    assert (answer.input_tokens, answer.output_tokens) == (212, 31)
    assert answer.result()["best_match"] == "Printer"


def test_prose_around_the_json_and_other_letter_case_are_tolerated(stub: Stubber):
    expect(stub, converse_response('Here you go:\n```json\n{"scores": {"printer": 88.6, "NETWORK": 140}}\n```'))
    answer = BedrockClassifier(MODEL).classify(QUESTION)
    assert answer.scores == {"Printer": 89, "Network": 100, "Email": 0}


def test_a_refusal_scores_zero_with_the_reason(stub: Stubber):
    expect(stub, converse_response("I cannot help with that.", stop="content_filtered"))
    answer = BedrockClassifier(MODEL).classify(QUESTION)
    assert set(answer.scores.values()) == {0} and "refused" in (answer.error or "")
    assert answer.input_tokens == 212  # refused calls are billed too


def test_an_answer_cut_at_max_tokens_is_unreadable_not_a_crash(stub: Stubber):
    expect(stub, converse_response('{"scores": {"Printer": 9', stop="max_tokens"))
    answer = BedrockClassifier(MODEL).classify(QUESTION)
    assert set(answer.scores.values()) == {0} and "maxTokens" in (answer.error or "")


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 429), ("AccessDeniedException", 403), ("ModelTimeoutException", 408)],
)
def test_service_errors_score_zero_and_name_the_error(stub: Stubber, code: str, status: int):
    stub.add_client_error("converse", service_error_code=code, http_status_code=status)
    answer = BedrockClassifier(MODEL).classify(QUESTION)
    assert set(answer.scores.values()) == {0} and code in (answer.error or "")


def test_the_request_carries_the_question_as_json_and_bounded_output():
    args = converse_arguments(MODEL, QUESTION)
    assert args["modelId"] == MODEL and args["inferenceConfig"]["temperature"] == 0.0
    assert '"categories": ["Printer", "Network", "Email"]' in args["messages"][0]["content"][-1]["text"]
    assert args["inferenceConfig"]["maxTokens"] < 400


@pytest.mark.parametrize("text", ["no json here", '{"scores": {"Other": 50}}', '{"scores": [1, 2]}'])
def test_answers_without_usable_scores_are_refused(text: str):
    with pytest.raises(ValueError):
        parse_scores(text, ["Printer"])
