"""Helpers for the Dispatcher Rules engine tests."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.rules import Evaluation, Limits, compile_rules, evaluate, validate

SAMPLE: dict[str, Any] = {
    "selections": ["My printer"],
    "hostname": "FRONTDESK-01",
    "email": "dana@contoso.com",
    "name": "Dana Reyes",
    "ip": "10.0.0.12",
    "mac": "00:11:22:33:44:55",
    "contactName": "Dana Reyes",
    "businessName": "Contoso Ltd.",
    "msg": "The printer jams on every page",
    "subject": "The printer jams on every page",
    "append": "",
    "priority": "Medium",
    "ticketStatus": "New",
    "queue": "Client Portal",
    "type": "Service Request",
    "source": "Web Portal",
    "issue": "",
    "subIssue": "",
    "category": "",
    "worktype": None,
    "priv_append": "",
}


def run(source: str, limits: Limits | None = None, helpers: bool = False, **variables: Any) -> Evaluation:
    """Compile and evaluate ``source`` over SAMPLE overridden by ``variables``."""
    limits = limits or Limits()
    compiled = compile_rules(source, limits)
    return evaluate(compiled, {**SAMPLE, **variables}, limits=limits, include_helpers=helpers)


def errors(source: str, limits: Limits | None = None) -> list[str]:
    return [f"{d.line}: {d.message}" for d in validate(source, limits) if d.severity == "error"]


def warnings(source: str) -> list[str]:
    return [f"{d.line}: {d.message}" for d in validate(source) if d.severity == "warning"]


@pytest.fixture
def sample() -> dict[str, Any]:
    return dict(SAMPLE)
