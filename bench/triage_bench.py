"""ai_categorize quality and cost on the labelled helpdesk messages in tests/data/triage.jsonl.

Every message goes through the production path: ``BedrockClassifier`` (boto3 ``bedrock-runtime`` Converse) and the
original product's result shape (``best_match`` above 80, ``matches`` above 94). By default the classifier talks to
the devstack's deterministic STAND-IN (devstack/bedrock.py, started here on a free port): the figures then measure
the plumbing and the stand-in, not a language model. With ``TRIAGE_BEDROCK=1`` (and AWS credentials) the same code
measures the real model given by ``TRIAGE_MODEL_ID`` (default: the template's ``ClassifierModelId``).

Baselines measured in the same run: a classifier that only knows the category names (no keyword lists), and
chance (1 / number of categories).
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from devstack.bedrock import StandInServer, score_all
from devstack.client_env import pointed_at
from helpdesk import aws
from helpdesk.adapters.bedrock_classifier import BedrockClassifier
from helpdesk.domain.rules import Classification, ClassificationRequest

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "triage.jsonl"
DEFAULT_MODEL = "amazon.nova-micro-v1:0"
# Amazon Nova Micro, us-east-1 on-demand (USD per million tokens): input 0.035, output 0.14.
PRICE_PER_MTOK = {"amazon.nova-micro-v1:0": (0.035, 0.14), "amazon.nova-lite-v1:0": (0.06, 0.24)}
BUCKETS = ((0, 40), (41, 80), (81, 94), (95, 100))
AWS_COMMAND = "TRIAGE_BEDROCK=1 AWS_PROFILE=<profile> AWS_REGION=us-east-1 .venv/bin/python -m bench triage"


def load() -> list[dict[str, str]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def categories_of(rows: Iterable[dict[str, str]]) -> list[str]:
    return list(dict.fromkeys(r["label"] for r in rows))


def names_only(text: str, categories: Iterable[str]) -> dict[str, int]:
    """Baseline: a category scores when one of its own name's words (>= 3 letters) is in the text."""
    words = set(text.casefold().replace("-", " ").split())
    return {
        c: 90 if any(w in words for w in c.casefold().replace("/", " ").split() if len(w) >= 3) else 0
        for c in categories
    }


def evaluate(
    rows: list[dict[str, str]], categories: list[str], classify: Callable[[ClassificationRequest], Classification]
) -> dict[str, Any]:
    top1 = best_ok = covered = in_matches = failures = 0
    top_scores: dict[str, list[int]] = {"correct": [], "wrong": []}
    slices: dict[str, Counter[str]] = {}
    tokens_in: list[int] = []
    tokens_out: list[int] = []
    latencies: list[float] = []
    for row in rows:
        started = time.perf_counter()
        answer = classify(ClassificationRequest(text=row["text"], categories=categories))
        latencies.append((time.perf_counter() - started) * 1000)
        failures += answer.error is not None
        tokens_in.append(answer.input_tokens)
        tokens_out.append(answer.output_tokens)
        result = answer.result()
        top = max(categories, key=lambda c: result["scores"][c])
        ok = top == row["label"] and result["scores"][top] > 0
        top1 += ok
        covered += result["best_match"] is not None
        best_ok += result["best_match"] == row["label"]
        in_matches += row["label"] in result["matches"]
        top_scores["correct" if ok else "wrong"].append(result["scores"][top])
        words = len(row["text"].split())
        for name in (
            f"lang={row.get('lang', 'en')}",
            "short (<= 4 words)" if words <= 4 else ("long (>= 25 words)" if words >= 25 else "medium"),
        ):
            slices.setdefault(name, Counter())["n"] += 1
            slices[name]["top1"] += ok
            slices[name]["best"] += result["best_match"] == row["label"]
    n = len(rows)
    return {
        "n": n,
        "top1": top1 / n,
        "best_match_accuracy": best_ok / n,
        "best_match_coverage": covered / n,
        "best_match_precision": best_ok / covered if covered else 0.0,
        "label_in_matches": in_matches / n,
        "failures": failures,
        "top_scores": top_scores,
        "slices": slices,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "latencies": latencies,
        "labels": [r["label"] for r in rows],
    }


def histogram(scores: list[int]) -> str:
    return "  ".join(f"{lo}-{hi}: {sum(lo <= s <= hi for s in scores):3d}" for lo, hi in BUCKETS)


def _report(label: str, m: dict[str, Any], baseline: dict[str, Any], model: str) -> None:
    print(f"{label}: {m['n']} messages, {len(set(r for r in m['labels']))} categories, model {model}")
    print(
        f"  top-1 accuracy {m['top1']:.1%} (category names only {baseline['top1']:.1%}: "
        f"x{m['top1'] / max(baseline['top1'], 1e-9):.2f}; chance {1 / 8:.1%})"
    )
    print(
        f"  best_match (score > 80): right {m['best_match_accuracy']:.1%}, set {m['best_match_coverage']:.1%} "
        f"of messages, precision {m['best_match_precision']:.1%}; label in matches (> 94) {m['label_in_matches']:.1%}"
    )
    print(f"  top score when right: {histogram(m['top_scores']['correct'])}")
    print(f"  top score when wrong: {histogram(m['top_scores']['wrong'])}")
    for name, c in sorted(m["slices"].items()):
        print(
            f"  slice {name:<20} n={c['n']:3d}  top-1 {c['top1'] / c['n']:.0%}  best_match right {c['best'] / c['n']:.0%}"
        )
    tin, tout = statistics.mean(m["tokens_in"]), statistics.mean(m["tokens_out"])
    price_in, price_out = PRICE_PER_MTOK.get(model, PRICE_PER_MTOK[DEFAULT_MODEL])
    cost = (tin * price_in + tout * price_out) / 1e6
    lat = sorted(m["latencies"])
    print(
        f"  per call: {tin:.0f} input + {tout:.0f} output tokens -> ${cost:.7f} at {model if model in PRICE_PER_MTOK else DEFAULT_MODEL} "
        f"prices (${cost * 1000:.4f} per 1,000 presses with one question); failures {m['failures']}"
    )
    print(f"  latency per call: median {statistics.median(lat):.1f} ms, p95 {lat[int(0.95 * (len(lat) - 1))]:.1f} ms")


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    rows = load()
    categories = categories_of(rows)
    baseline = evaluate(
        rows,
        categories,
        lambda q: Classification(text=q.text, categories=q.categories, scores=names_only(q.text, q.categories)),
    )
    real = os.environ.get("TRIAGE_BEDROCK") == "1"
    model = os.environ.get("TRIAGE_MODEL_ID", DEFAULT_MODEL)
    if real:
        aws.client.cache_clear()
        measured = evaluate(rows, categories, BedrockClassifier(model).classify)
        _report("Amazon Bedrock", measured, baseline, model)
        return 0
    with StandInServer() as stand_in:
        env = {
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stand_in.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        }
        with pointed_at(env):
            measured = evaluate(rows, categories, BedrockClassifier(model).classify)
    direct = evaluate(
        rows,
        categories,
        lambda q: Classification(text=q.text, categories=q.categories, scores=score_all(q.text, q.categories)),
    )
    assert [round(x, 6) for x in (direct["top1"], direct["best_match_accuracy"])] == [
        round(x, 6) for x in (measured["top1"], measured["best_match_accuracy"])
    ], "the adapter changed the stand-in's answers"
    _report("devstack STAND-IN (keyword/trigram, not a model)", measured, baseline, model)
    print("  note: the stand-in's keyword lists and this data set were written by the same team: its accuracy is")
    print("  a regression check of the plumbing, not evidence of the real model's quality.")
    print(f"  measure the Bedrock model where AWS is available: {AWS_COMMAND}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
