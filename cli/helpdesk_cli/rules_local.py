"""RulesRunner that runs the rules engine in this process (`settings import` validates rules offline).

The engine is the same code the `rules` function runs, and the request and answer go through the same contract
(helpdesk.domain.rules) as JSON; only the isolation differs, which is fine for an operator importing their own
tenants' settings. Functions always use helpdesk.adapters.lambda_rules.LambdaRulesRunner.
"""

from __future__ import annotations

from helpdesk.domain.rules import RuleResult, RulesRequest


class LocalRulesRunner:
    def __init__(self) -> None:
        from helpdesk.rules.service import RulesService

        self._service = RulesService()

    def run(self, request: RulesRequest) -> RuleResult:
        answer = self._service.handle(request.model_dump(mode="json"))
        return RuleResult.model_validate(answer.model_dump(mode="json"))
