"""Shared fixtures. ``devstack``: the whole service on 127.0.0.1 (devstack.stack.Devstack), one per session.

Started on first use only, on free ports, with RetryBaseDelaySeconds=0 so failed work items retry at once.
Function logs: .devstack/pytest/logs/<LogicalId>.log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
E2E_PARAMETERS = {"RetryBaseDelaySeconds": "0"}


@pytest.fixture(scope="session")
def devstack(request: pytest.FixtureRequest) -> Iterator[Any]:
    from devstack.stack import Devstack

    worker = getattr(request.config, "workerinput", {}).get("workerid")  # pytest-xdist: one stack per worker
    state_dir = ROOT / ".devstack" / (f"pytest-{worker}" if worker else "pytest")
    with Devstack(parameter_overrides=E2E_PARAMETERS, ports=0, state_dir=state_dir) as stack:
        yield stack
