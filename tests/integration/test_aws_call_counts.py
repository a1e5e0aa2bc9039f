"""AWS round trips per press, counted by `bench calls` (botocore before-call hooks, moto in-process): pinned here
so they cannot creep back. docs/performance.md has the before/after figures and the cost model built on them."""

from __future__ import annotations

from bench import calls_bench


def test_intake_accepts_in_3_calls_plus_one_per_inline_file_and_reads_status_in_2() -> None:
    counts = calls_bench.count_intake()
    assert sum(counts.submit.values()) <= calls_bench.INTAKE_GOAL, counts.submit
    assert counts.submit[("dynamodb", "TransactWriteItems")] == 1  # the submission and its first event together
    assert sum(counts.submit_one_file.values()) <= calls_bench.INTAKE_GOAL + 1, counts.submit_one_file
    assert sum(counts.status.values()) <= calls_bench.STATUS_GOAL, counts.status


def test_dispatch_bookkeeping_is_at_most_half_of_what_it_was() -> None:
    counts = calls_bench.count_dispatch(2)
    assert counts.autotask_requests == 3  # the warm ticket's Autotask cost did not move
    assert counts.mean("dynamodb") <= calls_bench.DISPATCH_GOAL, counts.per_ticket
    assert counts.mean() == counts.mean("dynamodb")  # no other AWS service per warm ticket
