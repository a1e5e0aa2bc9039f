"""The button agent API as the end-to-end tests call it: submit, then poll a submission until it is final.

`target` is any mapping with the stage URL under "api" and a button key under "key" (the fixtures of the
ticket-flow and notification tests both provide one).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests

FINAL_STATUSES = frozenset({"created", "blocked", "failed"})


def submit(target: Mapping[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/tickets; the service must accept it (202)."""
    answer = requests.post(
        f"{target['api']}/v1/tickets", json=body, headers={"Authorization": f"Bearer {target['key']}"}, timeout=30
    )
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def wait_final(target: Mapping[str, Any], sid: str, receipt: str, timeout_s: float = 45) -> dict[str, Any]:
    """Poll GET /v1/tickets/{sid} until created, blocked or failed (bounded by `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        got = requests.get(
            f"{target['api']}/v1/tickets/{sid}",
            headers={"Authorization": f"Bearer {target['key']}", "X-Receipt": receipt},
            timeout=30,
        )
        assert got.status_code == 200, got.text
        view = got.json()
        if view["status"] in FINAL_STATUSES:
            return view
        time.sleep(0.25)
    raise AssertionError(f"{sid} did not finish in {timeout_s}s: {view}")
