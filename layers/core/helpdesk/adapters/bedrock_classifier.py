"""Classifier port over Amazon Bedrock (bedrock-runtime ``Converse``, a small text model; default Amazon Nova Micro).

The model gets a short instruction plus the question as a JSON document (text and categories) and answers with
``{"scores": {"<category>": 0-100, ...}}``. Anything else (an error, a timeout, a refusal, an answer that is not
that JSON) becomes a Classification with every score 0 and ``error`` set: ``ai_categorize`` never blocks a ticket.
The client honours ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (the devstack serves a stand-in there).
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from helpdesk import aws
from helpdesk.domain.rules import Classification, ClassificationRequest

SYSTEM_PROMPT: Final = (
    "You triage IT helpdesk requests written by end users (any language, often short or misspelt). "
    "For every category you are given, rate from 0 to 100 how well the request belongs to it: 95-100 clearly "
    "about it, 81-94 probably, 40-80 partly or unsure, below 40 not about it. Categories are independent. "
    'Answer with one JSON object and nothing else: {"scores": {"<category exactly as given>": <integer>, ...}}.'
)
REFUSALS: Final = frozenset({"content_filtered", "guardrail_intervened"})


def question_document(request: ClassificationRequest) -> str:
    """The question as the model (and the devstack's stand-in) reads it: one JSON document."""
    return json.dumps({"text": request.text, "categories": request.categories}, ensure_ascii=False)


def converse_arguments(model_id: str, request: ClassificationRequest) -> dict[str, Any]:
    return {
        "modelId": model_id,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [
            {
                "role": "user",
                "content": [{"text": "Rate this request:"}, {"text": question_document(request)}],
            }
        ],
        "inferenceConfig": {"maxTokens": 40 + 16 * len(request.categories), "temperature": 0.0},
    }


def _json_object(text: str) -> Any:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the answer")
    return json.loads(text[start : end + 1])


def parse_scores(text: str, categories: list[str]) -> dict[str, int]:
    """The model's answer -> a score per category (missing ones 0); ValueError when it names none of them."""
    doc = _json_object(text)
    raw = doc.get("scores", doc) if isinstance(doc, dict) else None
    if not isinstance(raw, dict):
        raise ValueError("the answer has no scores")
    by_fold = {str(k).strip().casefold(): v for k, v in raw.items()}
    scores: dict[str, int] = {}
    found = 0
    for category in categories:
        value = by_fold.get(category.strip().casefold())
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            scores[category] = max(0, min(100, round(value)))
            found += 1
        else:
            scores[category] = 0
    if not found:
        raise ValueError("the answer scores none of the categories")
    return scores


def classification_from_converse(
    response: dict[str, Any], request: ClassificationRequest, model_id: str
) -> Classification:
    """A Converse response (boto3's dict) -> Classification (every score 0 with ``error`` if it cannot be used)."""
    usage = response.get("usage") or {}
    tokens = {
        "input_tokens": int(usage.get("inputTokens") or 0),
        "output_tokens": int(usage.get("outputTokens") or 0),
    }
    stop = str(response.get("stopReason") or "")
    if stop in REFUSALS:
        failed = Classification.failed(request, f"the model refused to classify the text ({stop})", model_id)
        return failed.model_copy(update=tokens)
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    text = "".join(block.get("text", "") for block in content if isinstance(block, dict))
    try:
        scores = parse_scores(text, request.categories)
    except ValueError as exc:
        reason = f"the model's answer could not be read ({exc}{', cut at maxTokens' if stop == 'max_tokens' else ''})"
        return Classification.failed(request, reason, model_id).model_copy(update=tokens)
    return Classification(
        text=request.text,
        categories=request.categories,
        scores=scores,
        model=model_id,
        input_tokens=tokens["input_tokens"],
        output_tokens=tokens["output_tokens"],
    )


class BedrockClassifier:
    """Classifier over bedrock-runtime Converse. Short timeouts: a slow model must not hold the dispatcher."""

    def __init__(self, model_id: str) -> None:
        self.model = model_id

    def classify(self, request: ClassificationRequest) -> Classification:
        try:
            response = aws.client("bedrock-runtime").converse(**converse_arguments(self.model, request))
        except Exception as exc:  # botocore errors (never chained or logged with the text: it is end-user data)
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            return Classification.failed(request, f"the model could not be called ({code})", self.model)
        return classification_from_converse(response, request, self.model)
