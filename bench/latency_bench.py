"""Intake latency through the devstack's API Gateway emulator, against a trivial function behind the same emulator.

    .venv/bin/python -m bench latency        (HELPDESK_BENCH_LATENCY_N=<requests per route>, default 200)

One devstack (moto + Lambda/API Gateway emulation) whose in-memory template gets one extra function,
``BenchTrivialFunction`` (bench/trivial/app.py: answers 202 and does nothing) on ``POST /bench/trivial``;
template.yaml is not touched. After a warm-up (both execution environments initialised, caches filled), one
client thread sends N ``POST /v1/tickets`` (a real submission: auth by button key, validation, DynamoDB writes,
SQS send) and N ``POST /bench/trivial`` with the same body, interleaved one by one, over a keep-alive session;
and, for scale, one DynamoDB GetItem straight to the same moto server per round (intake makes several AWS calls
per submission, each a round trip to moto's single Python process here, a few ms to DynamoDB in a region).
The table shows p50/p95/p99 of each and their ratio to the trivial function.

Goal (issue 16): the trivial function makes no AWS call while intake makes N (counted in this run by
bench/calls_bench.py), each a round trip to moto here; so intake is judged against the trivial function plus N
moto calls: intake p50 <= (trivial p50 + N x one moto GetItem p50) x 1.2.

Peak memory: the devstack's per-function peak RSS (GET <lambda_url>/devstack/stats) against each function's
MemorySize, after this run (intake, and the dispatcher and rules functions that turned the submissions into
tickets in the background).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
MARGIN = 1.2
TRIVIAL = {
    "Type": "AWS::Serverless::Function",
    "Properties": {
        "Description": "Bench-only latency baseline (bench/latency_bench.py).",
        "CodeUri": "bench/trivial",
        "Handler": "app.lambda_handler",
        "MemorySize": 256,
        "Events": {
            "Trivial": {
                "Type": "Api",
                "Properties": {"RestApiId": {"Ref": "Api"}, "Path": "/bench/trivial", "Method": "POST"},
            }
        },
    },
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_stack(**kwargs: Any) -> Any:
    """A devstack (not started) with the trivial function added to its in-memory template."""
    from devstack.stack import Devstack

    stack = Devstack(
        parameter_overrides={"RetryBaseDelaySeconds": "0"},
        ports=0,
        state_dir=ROOT / ".devstack" / "bench",
        **kwargs,
    )
    stack.template.doc["Resources"]["BenchTrivialFunction"] = TRIVIAL
    return stack


def memory_table(stack: Any) -> list[tuple[str, float, int, bool]]:
    """(function, peak RSS MB, MemorySize MB, fits) for every function that ran, from GET /devstack/stats."""
    stats = requests.get(f"{stack.lambda_url}/devstack/stats", timeout=30).json()["functions"]
    rows = []
    for lid, item in sorted(stats.items()):
        peak = float(item.get("peak_rss_mb") or 0)
        if peak:
            rows.append((lid, peak, int(item["memory_size_mb"]), not item["memory_exceeded"]))
    return rows


def print_memory(rows: list[tuple[str, float, int, bool]]) -> bool:
    print("  peak memory per function (devstack stats) vs MemorySize")
    for lid, peak, size, fits in rows:
        print(f"    {lid:<24} {peak:>7.1f} MB of {size:>5} MB  {'fits' if fits else 'EXCEEDED'}")
    return all(fits for *_, fits in rows)


def measure(n: int) -> dict[str, Any]:
    from tests.e2e.test_ticket_flow import _body, _provisioned

    with bench_stack() as stack, _provisioned(stack) as flow:
        headers = {"Authorization": f"Bearer {flow['key']}", "Content-Type": "application/json"}
        session = requests.Session()
        urls = {"intake": f"{flow['api']}/v1/tickets", "trivial": f"{flow['api']}/bench/trivial"}
        samples: dict[str, list[float]] = {"intake": [], "trivial": [], "getitem": []}
        errors: Counter[str] = Counter()
        dynamodb = stack.client("dynamodb")
        tenants_table = stack.resources["TenantsTable"]["Ref"]
        warmup = 20
        for i in range(warmup + n):
            body = _body(f"lat-{i:05d}-{uuid.uuid4().hex[:8]}", msg=f"Latency benchmark submission {i}")
            for name in ("intake", "trivial") if i % 2 else ("trivial", "intake"):
                began = time.perf_counter()
                answer = session.post(urls[name], json=body, headers=headers, timeout=30)
                elapsed = time.perf_counter() - began
                if answer.status_code != 202:  # counted, not timed (e.g. a 502 when the box is overloaded)
                    errors[f"{name} {answer.status_code}"] += 1
                elif i >= warmup:
                    samples[name].append(elapsed)
            # one AWS call on the same moto server, for scale: intake makes several per submission
            began = time.perf_counter()
            dynamodb.get_item(TableName=tenants_table, Key={"pk": {"S": "TENANT#none"}, "sk": {"S": "none"}})
            if i >= warmup:
                samples["getitem"].append(time.perf_counter() - began)
        # let the background dispatcher finish so its peak memory is in the table too
        deadline = time.monotonic() + 120
        queue = stack.resources["WorkQueue"]["Ref"]
        sqs = stack.client("sqs")
        while time.monotonic() < deadline:
            attrs = sqs.get_queue_attributes(
                QueueUrl=queue,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 0:
                break
            time.sleep(0.5)
        return {"samples": samples, "errors": dict(errors), "memory": memory_table(stack)}


def main() -> int:
    from bench import calls_bench

    n = int(os.environ.get("HELPDESK_BENCH_LATENCY_N", "200"))
    calls = sum(calls_bench.count_intake().submit.values())  # AWS calls per accepted submission, counted now
    result = measure(n)
    samples = result["samples"]
    print(f"Latency through the API Gateway emulator: {n} requests per route, one client, interleaved, warm")
    print(f"  {'route':<30} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    table = {}
    rows = (
        ("trivial", "POST /bench/trivial (baseline)"),
        ("intake", "POST /v1/tickets (intake)"),
        ("getitem", "one DynamoDB GetItem on moto"),
    )
    for name, label in rows:
        ms = [s * 1000 for s in samples[name]]
        table[name] = [percentile(ms, q) for q in (0.5, 0.95, 0.99)]
        print(
            f"  {label:<30} {table[name][0]:>8.1f} {table[name][1]:>8.1f} {table[name][2]:>8.1f} {statistics.mean(ms):>8.1f}"
        )
    ratios = [i / t for i, t in zip(table["intake"], table["trivial"], strict=True)]
    print(f"  {'intake / baseline':<30} {ratios[0]:>7.2f}x {ratios[1]:>7.2f}x {ratios[2]:>7.2f}x")
    bound = (table["trivial"][0] + calls * table["getitem"][0]) * MARGIN
    met = table["intake"][0] <= bound
    if result["errors"]:
        print(f"  non-202 answers (not timed): {result['errors']}")
    print(
        f"  goal: intake p50 <= (trivial p50 + {calls} AWS calls x one moto call p50) x {MARGIN:g} = {bound:.1f} ms:"
        f" {'met' if met else 'NOT met'} (intake p50 {table['intake'][0]:.1f} ms)"
    )
    fits = print_memory(result["memory"])
    return 0 if met and fits else 1


if __name__ == "__main__":
    raise SystemExit(main())
