"""Pipeline throughput against Autotask's 3-thread limit: submissions per second end to end and Autotask requests
per ticket, with the simulator answering at 0 ms and at 200 ms added latency.

    .venv/bin/python -m bench throughput     (HELPDESK_BENCH_THROUGHPUT_N=<submissions per run>, default 40)

One devstack (API Gateway -> intake -> SQS -> dispatcher -> rules -> the Autotask simulator), one tenant. After a
warm-up (execution environments started, caches filled), for each latency: N submissions posted from 8 client
threads, then polled until all are ``created``; throughput = N / (first post .. last created). The simulator
counts every request by endpoint, so requests per ticket per thread-limit entity (Tickets, TicketNotes, ...)
come from its counters, and so does the number of thread-limit errors and the highest concurrency it saw.

The bound the 3-thread limit allows (per tenant, i.e. per Autotask database + integration code): an entity
``e`` asked ``r_e`` times per ticket, each request taking ``L`` seconds, can serve at most ``3 / (r_e * L)``
tickets per second; the bound is the smallest over entities. The dispatcher counts thread slots conservatively
(a request to ``Tickets/{id}/Notes`` or ``/Attachments`` holds a ``Tickets`` slot too), so the bound it can
reach is the smaller "slot bound": ``r`` counts, for each entity, its own requests plus those of its child
collections (Tickets: create + read + note = 3 per warm ticket, so 3 / (3 x 0.2) = 5 tickets/s at 200 ms
instead of 7.5): the difference is what the conservative reading costs. Goal at 200 ms: throughput >= 90% of the bound,
with zero thread-limit errors. The 0 ms run shows what the rest of the pipeline (here: moto and 2 cores) allows;
when that is below the 200 ms bound, the 200 ms run cannot reach it, so a third run at 1000 ms (N
submissions) puts the bound below the pipeline's own capacity and shows whether the dispatcher really keeps
all 3 threads busy without ever exceeding them.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

THREADS = 3
GOAL = 0.9


def _entity(endpoint: str) -> str | None:
    from devstack.autotask_sim.server import _child_entity

    _, _, path = endpoint.partition(" ")
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2 or not parts[0].upper().startswith("V1"):
        return None  # zoneInformation and the like: not thread-limited API calls
    return _child_entity("/".join(parts[1:]))


def _slot_entities(endpoint: str) -> list[str]:
    """The entities whose thread slots the dispatcher holds for this request (own, and the parent's for a
    child collection), as helpdesk.autotask.client does."""
    from helpdesk.autotask.client import _parent_entity

    own = _entity(endpoint)
    if own is None:
        return []
    _, _, path = endpoint.partition(" ")
    parent = _parent_entity("/".join([p for p in path.split("/") if p][1:]))
    return [own, parent] if parent and parent != own else [own]


def run(flow: dict[str, Any], n: int, latency_ms: int, label: str) -> dict[str, Any]:
    from bench.pipeline_bench import _wait_created
    from tests.e2e.test_ticket_flow import _body

    sim = flow["sim"]
    headers = {"Authorization": f"Bearer {flow['key']}"}
    sim.set_faults("demo", latency_ms=latency_ms)
    sim.reset_stats()
    bodies = [_body(f"tp-{label}-{i:04d}-{uuid.uuid4().hex[:8]}", msg=f"Throughput submission {i}") for i in range(n)]
    receipts: dict[str, str] = {}

    def post(body: dict[str, Any]) -> None:
        answer = requests.post(f"{flow['api']}/v1/tickets", json=body, headers=headers, timeout=60)
        assert answer.status_code == 202, answer.text
        receipts[body["submission_id"]] = answer.json()["receipt"]

    try:
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(post, bodies))
        done = _wait_created(requests.Session(), flow["api"], headers, receipts, start)
        elapsed = max(done.values()) - start
    finally:
        sim.clear_faults("demo")
    stats = sim.stats()
    per_entity: Counter[str] = Counter()
    per_slot: Counter[str] = Counter()
    for endpoint, count in stats["requests_by_endpoint"].items():
        entity = _entity(endpoint)
        if entity:
            per_entity[entity] += count
        for slot in _slot_entities(endpoint):
            per_slot[slot] += count
    per_ticket = {e: c / n for e, c in sorted(per_entity.items())}
    bound = min(THREADS / (r * latency_ms / 1000) for r in per_ticket.values()) if latency_ms else float("inf")
    slot_bound = min(THREADS / (c / n * latency_ms / 1000) for c in per_slot.values()) if latency_ms else float("inf")
    tickets = [t for t in sim.tickets("demo") if t.get("externalID") in receipts]
    assert len(tickets) == n, f"{len(tickets)} tickets for {n} submissions"
    return {
        "latency_ms": latency_ms,
        "n": n,
        "elapsed_s": elapsed,
        "throughput": n / elapsed,
        "requests_per_ticket": sum(per_ticket.values()),
        "per_entity": per_ticket,
        "bound": bound,
        "slot_bound": slot_bound,
        "thread_limit_errors": stats["thread_limit_errors"],
        "max_concurrency": max(stats["max_concurrency"].values(), default=0),
    }


def measure(n: int) -> dict[str, Any]:
    from bench.latency_bench import bench_stack, memory_table
    from tests.e2e.test_ticket_flow import _provisioned

    with bench_stack() as stack, _provisioned(stack) as flow:
        run(flow, 8, 0, "warmup")
        results = [run(flow, n, 0, "l0"), run(flow, n, 200, "l200"), run(flow, n, 1000, "l1000")]
        return {"runs": results, "memory": memory_table(stack)}


def main() -> int:
    from bench.latency_bench import print_memory

    n = int(os.environ.get("HELPDESK_BENCH_THROUGHPUT_N", "40"))
    result = measure(n)
    print(f"Pipeline throughput, one tenant, Autotask 3-thread limit per entity, {n} submissions per run (8 clients)")
    print(
        f"  {'simulator latency':<18} {'tickets/s':>9} {'AT req/ticket':>13} {'bound/s':>8} {'of bound':>9}"
        f" {'slot bound/s':>12} {'of slot bound':>13} {'thread-limit errs':>17} {'max conc.':>9}"
    )
    ok = True
    for r in result["runs"]:
        finite = r["bound"] != float("inf")
        share = r["throughput"] / r["bound"] if finite else None
        slot_share = r["throughput"] / r["slot_bound"] if finite else None
        cells = (
            [f"{r['bound']:.2f}", f"{share:.0%}", f"{r['slot_bound']:.2f}", f"{slot_share:.0%}"]
            if share is not None and slot_share is not None
            else ["-"] * 4
        )
        print(
            f"  {str(r['latency_ms']) + ' ms':<18} {r['throughput']:>9.2f} {r['requests_per_ticket']:>13.2f}"
            f" {cells[0]:>8} {cells[1]:>9} {cells[2]:>12} {cells[3]:>13}"
            f" {r['thread_limit_errors']:>17} {r['max_concurrency']:>9}"
        )
        per_entity = ", ".join(f"{e} {v:.2f}" for e, v in r["per_entity"].items())
        print(f"  {'':<18} requests per ticket by entity: {per_entity}")
        if slot_share is not None:
            met = slot_share >= GOAL and r["thread_limit_errors"] == 0
            print(
                f"  {'':<18} >= {GOAL:.0%} of the slot bound with 0 thread-limit errors: {'yes' if met else 'no'}"
                f" (cost of counting child collections against Tickets: bound {r['bound']:.2f} -> "
                f"{r['slot_bound']:.2f} tickets/s)"
            )
            if r["latency_ms"] == 200:
                ok = met
    print(
        f"  goal at 200 ms (>= {GOAL:.0%} of the 3-thread slot bound, 0 thread-limit errors): "
        f"{'met' if ok else 'NOT met'}"
    )
    fits = print_memory(result["memory"])
    return 0 if ok and fits else 1


if __name__ == "__main__":
    raise SystemExit(main())
