"""Fixtures: one Autotask simulator per module (reset before each test) and a client factory pointed at it.

Clients get their own caches, limiter and attachment budget so tests do not share state, and a recording
`sleep` so retry backoff costs no wall time (the delays are asserted instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devstack.autotask_sim import DEMO, AutotaskSimulator, SimTenant
from helpdesk.autotask import AutotaskClient, AutotaskCredentials, AutotaskSettings, LocalConcurrencyLimiter
from helpdesk.autotask.cache import TTLCache
from helpdesk.autotask.client import AttachmentBudget


@pytest.fixture(scope="module")
def sim_server() -> Iterator[AutotaskSimulator]:
    sim = AutotaskSimulator(latency_tiers=(0.0, 0.0), seed_random=7)
    sim.start(host="127.0.0.1", port=0)
    yield sim
    sim.stop()


@pytest.fixture
def sim(sim_server: AutotaskSimulator) -> AutotaskSimulator:
    assert sim_server.wait_idle(10), "a previous test left a request running in the simulator"
    sim_server.reset()
    sim_server.missing_item_404 = False
    return sim_server


@pytest.fixture
def settings(sim: AutotaskSimulator) -> AutotaskSettings:
    return AutotaskSettings.from_env(sim.client_env())


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


MakeClient = Callable[..., AutotaskClient]


@pytest.fixture
def make_client(sim: AutotaskSimulator, settings: AutotaskSettings, sleeps: Sleeps) -> Iterator[MakeClient]:
    made: list[AutotaskClient] = []

    def factory(
        tenant: SimTenant = DEMO,
        *,
        api_key: str | None = None,
        integration_code: str | None = None,
        **kwargs: Any,
    ) -> AutotaskClient:
        creds = AutotaskCredentials.parse(
            sim.host,
            api_key if api_key is not None else tenant.api_key,
            integration_code if integration_code is not None else tenant.integration_code,
            settings=settings,
        )
        kwargs.setdefault("settings", settings)
        kwargs.setdefault("sleep", sleeps)
        kwargs.setdefault("zone_cache", TTLCache(ttl=3600))
        kwargs.setdefault("picklist_cache", TTLCache(ttl=3600))
        kwargs.setdefault("limiter", LocalConcurrencyLimiter())
        kwargs.setdefault("attachment_budget", AttachmentBudget())
        kwargs.setdefault("timeout", (2.0, 5.0))
        client = AutotaskClient(creds, **kwargs)
        made.append(client)
        return client

    yield factory
    for c in made:
        c.close()


@pytest.fixture
def client(make_client: MakeClient) -> AutotaskClient:
    return make_client()
