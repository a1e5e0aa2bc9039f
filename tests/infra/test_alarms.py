"""Alarms by cause: what pages the operator is a cause they can act on, each mapped to what to do.

An Autotask outage, a throttle, a tenant's broken credentials or failing rules are counted as custom metrics
(per tenant, too) with their own alarms; the functions' Errors alarms mean the functions themselves failed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

from helpdesk.dispatch import create_ticket

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
ALARMS = {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
NAMESPACE = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
CAUSES = [
    create_ticket.AUTOTASK_UNAVAILABLE,
    create_ticket.AUTOTASK_THROTTLED,
    create_ticket.CREDENTIALS_REJECTED,
    create_ticket.RULES_ERRORS,
    create_ticket.TICKETS_FAILED,
    "DispatchUnexpectedErrors",
]
PER_TENANT = [*CAUSES[:-1], create_ticket.TICKETS_CREATED, create_ticket.PRESSES_BLOCKED]


def _custom_alarm(metric: str) -> dict[str, Any]:
    found = [a for a in ALARMS.values() if a.get("MetricName") == metric and a.get("Namespace") == NAMESPACE]
    assert len(found) == 1, f"no (or more than one) alarm on {NAMESPACE}/{metric}"
    return found[0]


def test_every_cause_of_a_press_not_becoming_a_ticket_has_its_own_alarm_on_the_dispatchers_metric() -> None:
    for metric in CAUSES:
        alarm = _custom_alarm(metric)
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "dispatcher"}]
        assert alarm["TreatMissingData"] == "notBreaching" and alarm["AlarmActions"]


def test_an_autotask_outage_alarms_only_when_it_lasts() -> None:
    alarm = _custom_alarm(create_ticket.AUTOTASK_UNAVAILABLE)
    assert alarm["Period"] * alarm["EvaluationPeriods"] >= 900 and alarm["DatapointsToAlarm"] == 3


def _dashboard() -> dict[str, Any]:
    [body] = [v["Properties"]["DashboardBody"] for v in RESOURCES.values() if v["Type"] == "AWS::CloudWatch::Dashboard"]
    text = body["Fn::Sub"][0] if isinstance(body, dict) else body
    return json.loads(re.sub(r"\$\{[^}]+\}", "x", text))  # type: ignore[no-any-return]


def test_the_dashboard_shows_every_outcome_and_cause_and_the_top_tenants() -> None:
    dashboard = json.dumps(_dashboard())
    for metric in PER_TENANT:
        assert f'"{metric}"' in dashboard, f"{metric} is not on the dashboard"
    for metric in (create_ticket.AUTOTASK_UNAVAILABLE, create_ticket.CREDENTIALS_REJECTED, create_ticket.RULES_ERRORS):
        assert f"SUM({metric}) FROM SCHEMA({NAMESPACE}, service, tenant_id) GROUP BY tenant_id" in dashboard


def test_operations_doc_says_what_to_do_for_every_alarm() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text()
    rows = {m.group(1) for m in re.finditer(r"^\| `(\w+Alarm)`", doc, re.MULTILINE)}
    rows |= {name for line in doc.splitlines() if line.startswith("| `") for name in re.findall(r"`(\w+Alarm)`", line)}
    missing = sorted(set(ALARMS) - rows)
    assert not missing, f"docs/operations.md has no row for {missing}"
