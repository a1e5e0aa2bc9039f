"""Pipeline benchmark: Autotask requests per ticket, and submissions per second through the whole devstack.

    .venv/bin/python -m bench pipeline            (HELPDESK_BENCH_N=<submissions> to change the load)

Part 1 (in-process: moto + the Autotask simulator over HTTP + the real dispatcher use case): Autotask requests
per ticket with cold caches, with warm caches (0, 1, 2 attachments), and the baseline measured in the same run:
the same use case with every cache disabled. Goal: warm <= 3 + 1 per attachment.

Part 2 (the devstack: API Gateway -> intake -> SQS -> dispatcher -> simulator, real HTTP): N submissions posted
from 8 threads; intake accept rate, end-to-end throughput (all created) and latency percentiles; the ratio of
end-to-end throughput to the intake accept rate measured in the same run.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

ROOT_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "HelpdeskButtons",
}


class _NoCache:
    """A TTLCache stand-in that never remembers (the baseline: every lookup costs a request)."""

    def get(self, key: Any) -> None:
        return None

    def put(self, key: Any, value: Any) -> None:
        pass

    def invalidate(self, key: Any) -> None:
        pass

    def clear(self) -> None:
        pass


def requests_per_ticket() -> dict[str, float]:
    from moto import mock_aws

    from devstack.autotask_sim import AutotaskSimulator
    from devstack.resources import provision
    from helpdesk import aws
    from helpdesk.dispatch.create_ticket import LookupCaches

    saved = {k: os.environ.get(k) for k in (*ROOT_ENV, "AUTOTASK_ZONE_URL", "AUTOTASK_HOST_PATTERN", "AUTOTASK_SCHEME")}
    for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
        saved[var] = os.environ.pop(var)
    os.environ.update(ROOT_ENV)
    sim = AutotaskSimulator(seed_random=1)
    sim.start()
    os.environ.update(sim.client_env())
    aws.client.cache_clear()
    aws.table.cache_clear()
    results: dict[str, float] = {}
    try:
        with mock_aws():
            t = provision()
            env = {
                "TENANTS_TABLE": t.bound["TenantsTable"]["Ref"],
                "SUBMISSIONS_TABLE": t.bound["SubmissionsTable"]["Ref"],
                "ATTACHMENTS_BUCKET": t.bound["AttachmentsBucket"]["Ref"],
                "CREDENTIALS_KEY_ID": t.bound["CredentialsKey"]["Ref"],
            }
            sys.path.insert(0, str(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
            from tests.integration.dispatch_world import World

            world = World(sim=sim, env=env)
            world.add_tenant()

            def run(label: str, files: dict[str, bytes] | None = None) -> int:
                sid = f"bench-{label}-{uuid.uuid4().hex[:8]}"
                world.submit(sid, files=files)
                world.create(world.work(sid))
                sub = world.submissions.get("acme", sid)
                assert sub is not None and sub.status.value == "created", sub
                return sub.autotask_requests

            results["cold"] = run("cold")
            warm = [run("warm0") for _ in range(5)]
            results["warm, no attachment"] = statistics.mean(warm)
            results["warm, 1 attachment"] = statistics.mean(run("warm1", {"a.png": b"1"}) for _ in range(3))
            results["warm, 2 attachments"] = statistics.mean(
                run("warm2", {"a.png": b"1", "b.png": b"2"}) for _ in range(3)
            )
            # Baseline: no caches at all (every ticket pays for contact, company, CI, picklists, publish value).
            nothing = _NoCache()
            world.deps.caches = LookupCaches(
                contacts=nothing,  # type: ignore[arg-type]
                companies=nothing,  # type: ignore[arg-type]
                config_items=nothing,  # type: ignore[arg-type]
                rules=nothing,  # type: ignore[arg-type]
                publish=nothing,  # type: ignore[arg-type]
            )
            world.factory._options["picklist_cache"] = nothing
            world.factory._clients.clear()
            results["no caches (baseline)"] = statistics.mean(run("nocache") for _ in range(3))
    finally:
        sim.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        aws.client.cache_clear()
        aws.table.cache_clear()
    return results


def pipeline_throughput(n: int) -> dict[str, float]:
    from devstack.stack import Devstack
    from tests.e2e.test_ticket_flow import _body, _provisioned

    out: dict[str, float] = {}
    with Devstack(parameter_overrides={"RetryBaseDelaySeconds": "0"}, ports=0) as stack, _provisioned(stack) as flow:
        headers = {"Authorization": f"Bearer {flow['key']}"}
        session = requests.Session()
        # warm-up: 8 concurrent submissions end to end (cold starts of the intake, dispatcher and rules
        # execution environments, the per-environment caches); the measured run then sees a warm service
        warm = [_body(f"bench-warmup-{i}-{uuid.uuid4().hex[:8]}") for i in range(8)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(
                pool.map(
                    lambda b: requests.post(f"{flow['api']}/v1/tickets", json=b, headers=headers, timeout=60), warm
                )
            )
        warm_receipts = {b["submission_id"]: a.json()["receipt"] for b, a in zip(warm, answers, strict=True)}
        _wait_created(session, flow["api"], headers, warm_receipts, time.monotonic())

        bodies = [_body(f"bench-{i:04d}-{uuid.uuid4().hex[:8]}", msg=f"Benchmark submission {i}") for i in range(n)]
        accepted_at: dict[str, float] = {}
        receipts: dict[str, str] = {}
        latencies: list[float] = []

        def post(body: dict[str, Any]) -> None:
            began = time.monotonic()
            answer = requests.post(f"{flow['api']}/v1/tickets", json=body, headers=headers, timeout=30)
            latencies.append(time.monotonic() - began)
            assert answer.status_code == 202, answer.text
            receipts[body["submission_id"]] = answer.json()["receipt"]
            accepted_at[body["submission_id"]] = time.monotonic()

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(post, bodies))
        accepted = time.monotonic()
        done = _wait_created(session, flow["api"], headers, receipts, start)
        end = max(done.values())
        tickets = [t for t in flow["sim"].tickets("demo") if t.get("externalID") in receipts]
        assert len(tickets) == n, f"{len(tickets)} tickets for {n} submissions"
        e2e = sorted(done[s] - accepted_at[s] for s in receipts)
        out["submissions"] = n
        out["intake accept rate (req/s)"] = n / (accepted - start)
        out["intake latency p50 (ms)"] = statistics.median(latencies) * 1000
        out["intake latency p95 (ms)"] = sorted(latencies)[int(0.95 * (n - 1))] * 1000
        out["end-to-end throughput (tickets/s)"] = n / (end - start)
        out["accept -> created p50 (s)"] = e2e[len(e2e) // 2]
        out["accept -> created p95 (s)"] = e2e[int(0.95 * (n - 1))]
        out["max Autotask concurrency per entity"] = max(flow["sim"].stats()["max_concurrency"].values())
    return out


def _wait_created(
    session: requests.Session, api: str, headers: dict[str, str], receipts: dict[str, str], start: float
) -> dict[str, float]:
    done: dict[str, float] = {}
    deadline = time.monotonic() + 300
    while len(done) < len(receipts) and time.monotonic() < deadline:
        for sid, receipt in receipts.items():
            if sid in done:
                continue
            view = session.get(f"{api}/v1/tickets/{sid}", headers={**headers, "X-Receipt": receipt}, timeout=30).json()
            if view["status"] in {"created", "blocked", "failed"}:
                assert view["status"] == "created", view
                done[sid] = time.monotonic()
        time.sleep(0.1)
    if len(done) < len(receipts):
        raise RuntimeError(f"only {len(done)} of {len(receipts)} submissions finished")
    return done


def main() -> int:
    n = int(os.environ.get("HELPDESK_BENCH_N", "40"))
    per_ticket = requests_per_ticket()
    baseline = per_ticket["no caches (baseline)"]
    print("Autotask requests per ticket (goal with warm caches: <= 3 + 1 per attachment)")
    print(f"  {'case':<26} {'requests':>9} {'vs baseline':>12}")
    for case, value in per_ticket.items():
        print(f"  {case:<26} {value:>9.2f} {value / baseline:>11.2f}x")
    goal_ok = per_ticket["warm, no attachment"] <= 3 and per_ticket["warm, 2 attachments"] <= 5
    print(f"  goal met: {'yes' if goal_ok else 'NO'}")
    figures = pipeline_throughput(n)
    print("Pipeline over the devstack (8 client threads)")
    for name, value in figures.items():
        print(f"  {name:<38} {value:>10.2f}")
    ratio = figures["end-to-end throughput (tickets/s)"] / figures["intake accept rate (req/s)"]
    print(f"  end-to-end / intake accept rate        {ratio:>10.2f}x")
    return 0 if goal_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
