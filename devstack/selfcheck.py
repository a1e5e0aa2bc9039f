"""``python -m devstack.selfcheck``: start a throw-away devstack on free ports, exercise each emulator, print figures.

Checks (and times): stack start, first /v1/health (cold start), warm /v1/health latency through API Gateway,
warm boto3 lambda.invoke latency, a poison message's trip to the DLQ, stop (and that no worker survived).
Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from typing import Any

import boto3
import requests

from devstack.stack import Devstack


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p * (len(ordered) - 1))))]


def run(n: int) -> int:
    failures: list[str] = []
    began = time.perf_counter()
    stack = Devstack(
        parameter_overrides={"RetryBaseDelaySeconds": "0"},
        ports=0,
        state_dir=tempfile.mkdtemp(prefix="devstack-selfcheck-"),
        autotask_sim=False,
    )
    with stack:
        print(f"start                      {time.perf_counter() - began:8.2f} s")
        http = requests.Session()
        t = time.perf_counter()
        first = http.get(f"{stack.api_url}/v1/health", timeout=60)
        print(f"first /v1/health (cold)    {(time.perf_counter() - t) * 1000:8.0f} ms  -> {first.status_code}")
        if first.status_code != 200:
            failures.append(f"health answered {first.status_code}")
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            ok = http.get(f"{stack.api_url}/v1/health", timeout=30).status_code == 200
            samples.append((time.perf_counter() - t) * 1000)
            if not ok:
                failures.append("a warm health check failed")
                break
        print(f"warm /v1/health x{n:<5}     p50 {_pct(samples, 0.5):6.1f} ms  p95 {_pct(samples, 0.95):6.1f} ms")
        lam: Any = boto3.client("lambda", endpoint_url=stack.lambda_url, **stack.client_kwargs())
        name = stack.resources["RulesFunction"]["Ref"]
        lam.invoke(FunctionName=name, Payload=b"{}")
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            lam.invoke(FunctionName=name, Payload=b"{}")
            samples.append((time.perf_counter() - t) * 1000)
        print(f"warm lambda.invoke x{n:<5}  p50 {_pct(samples, 0.5):6.1f} ms  p95 {_pct(samples, 0.95):6.1f} ms")
        sqs = stack.client("sqs")
        t = time.perf_counter()
        message_id = sqs.send_message(QueueUrl=stack.resources["WorkQueue"]["Ref"], MessageBody="not json")["MessageId"]
        deadline, dead = time.monotonic() + 60, False
        while not dead and time.monotonic() < deadline:
            got = sqs.receive_message(QueueUrl=stack.resources["DeadLetterQueue"]["Ref"], WaitTimeSeconds=1)
            dead = any(m["MessageId"] == message_id for m in got.get("Messages", []))
        print(
            f"poison message -> DLQ      {time.perf_counter() - t:8.2f} s  after {stack.deliveries(message_id)} "
            "deliveries"
        )
        if not dead:
            failures.append("the poison message did not reach the DLQ in 60 s")
        for lid, item in stack.stats()["functions"].items():
            if item["invocations"]:
                init = item["init_ms"]["mean"] or 0
                print(
                    f"  {lid:<22} invocations {item['invocations']:>5}  cold starts {item['cold_starts']:>2}  "
                    f"init {init:7.0f} ms  peak RSS {item['peak_rss_mb']:6.1f} of {item['memory_size_mb']} MB"
                )
        stopping = time.perf_counter()
    print(f"stop                       {time.perf_counter() - stopping:8.2f} s")
    if stack.leftover_pids:
        failures.append(f"workers survived the stop: {stack.leftover_pids}")
    for failure in failures:
        print(f"FAILED: {failure}")
    print("selfcheck:", "ok" if not failures else "FAILED")
    return 0 if not failures else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.selfcheck", description=__doc__)
    parser.add_argument("-n", type=int, default=200, help="warm requests per latency figure (default 200)")
    return run(max(1, parser.parse_args(argv).n))


if __name__ == "__main__":
    sys.exit(main())
