"""Autotask PSA simulator for the devstack and tests (a real HTTP server on loopback).

from devstack.autotask_sim import AutotaskSimulator
from devstack.autotask_sim.seed import DEMO
sim = AutotaskSimulator()
base_url = sim.start(host="127.0.0.1", port=0)
env = sim.client_env()   # AUTOTASK_ZONE_URL, AUTOTASK_HOST_PATTERN, AUTOTASK_SCHEME for the client
...
sim.stop()
"""

from devstack.autotask_sim.seed import DEMO, NORTHWIND, SimTenant
from devstack.autotask_sim.server import AutotaskSimulator

__all__ = ["DEMO", "NORTHWIND", "AutotaskSimulator", "SimTenant"]
