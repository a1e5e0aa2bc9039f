"""A quiet tenant is not starved by a flooding tenant and a slow one (the short version of `bench fairness`).

Over the session devstack: tenant B floods presses at once and tenant C is slow (its Autotask answers after
2 s, its rules run to their limit); then tenant A presses a few times. A's presses must not queue behind B's
backlog: every one of them is created before B's flood has drained. Without fair dispatch (oldest message
first, no per-tenant share) A's presses would come out at the end of B's flood.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from bench.fairness_bench import TENANTS, Phase, fair_tenants, press_once, press_to_ticket

pytestmark = pytest.mark.e2e

FLOOD = 30
QUIET = 3


def test_a_quiet_tenant_is_served_while_another_floods_and_a_third_is_slow(devstack: Any) -> None:
    sim = devstack.autotask_sim
    if sim is None:
        pytest.skip("the devstack runs without the Autotask simulator")
    with fair_tenants(devstack) as keys:
        api = devstack.api_url
        sim.set_faults(TENANTS["slow"].database, latency_ms=2000)
        try:
            phase = Phase("noise")
            session = requests.Session()
            with ThreadPoolExecutor(max_workers=4) as pool:  # B's flood, as fast as intake takes it
                list(
                    pool.map(lambda _: press_once(requests.Session(), api, keys["flood"], "flood", phase), range(FLOOD))
                )
            for _ in range(3):
                press_once(session, api, keys["slow"], "slow", phase)
            for _ in range(QUIET):  # A presses after B's whole flood is on the queue
                press_once(session, api, keys["quiet"], "quiet", phase)
                time.sleep(1.0)
            quiet_at: dict[str, float] = {}
            flood_at: dict[str, float] = {}
            quiet = press_to_ticket(api, keys["quiet"], phase.of("quiet"), 90, quiet_at)
            flood = press_to_ticket(api, keys["flood"], phase.of("flood"), 120, flood_at)
        finally:
            sim.clear_faults(TENANTS["slow"].database)
    assert len(phase.of("flood")) >= FLOOD * 2 // 3 and len(phase.of("quiet")) == QUIET, phase.errors
    assert len(quiet) == QUIET, f"quiet tenant presses not created in time: {quiet}"
    assert len(flood) == len(phase.of("flood")), "the flood itself is not lost either"
    # A did not wait for B's backlog to drain: each of its presses took less than B's median press, and the
    # last of them was created before the last of B's.
    assert max(quiet.values()) < statistics.median(flood.values()), (sorted(quiet.values()), sorted(flood.values()))
    assert max(quiet_at.values()) < max(flood_at.values())
