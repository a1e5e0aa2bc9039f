"""RulesRunner that runs the rules engine in this process (`settings import` validates rules offline).

The engine is the same code the `rules` function runs; only the isolation differs, which is fine for an
operator importing their own tenants' settings. Functions always use LambdaRulesRunner.
"""

from __future__ import annotations

from typing import Any

from helpdesk.admin.ports import RulesOutcome
from helpdesk.admin.rules_lambda import _request, parse_outcome


class LocalRulesRunner:
    def __init__(self) -> None:
        from helpdesk.rules.service import RulesService

        self._service = RulesService()

    def validate(self, tenant_id: str, source: str) -> RulesOutcome:
        return parse_outcome(self._service.handle(_request("validate", tenant_id, source, {})).model_dump(mode="json"))

    def evaluate(self, tenant_id: str, source: str, variables: dict[str, Any]) -> RulesOutcome:
        result = self._service.handle(_request("test", tenant_id, source, variables))
        return parse_outcome(result.model_dump(mode="json"))

    def run(self, tenant_id: str, source: str, variables: dict[str, Any]) -> RulesOutcome:
        result = self._service.handle(_request("evaluate", tenant_id, source, variables))
        return parse_outcome(result.model_dump(mode="json"))
