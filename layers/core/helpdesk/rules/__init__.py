"""Dispatcher Rules: tenant-written Python run in a sandbox, once per submission, before the ticket is created.

Pure (no AWS). Public interface:

* :class:`RulesEngine` - ``compile(tenant, version, source)`` (LRU-cached), ``evaluate(...) -> Evaluation``,
  ``validate(source) -> list[Diagnostic]``
* :func:`compile_rules`, :func:`evaluate`, :func:`validate` - the same without the cache
* :class:`Limits` - step, time, size and nesting budgets
"""

from helpdesk.rules.compiler import CompiledRules, Diagnostic, RulesSyntaxError, compile_rules, validate
from helpdesk.rules.engine import Evaluation, RulesEngine, UnknownVariableError, evaluate
from helpdesk.rules.runtime import Limits, RulesForbiddenError, RulesLimitError

__all__ = [
    "CompiledRules",
    "Diagnostic",
    "Evaluation",
    "Limits",
    "RulesEngine",
    "RulesForbiddenError",
    "RulesLimitError",
    "RulesSyntaxError",
    "UnknownVariableError",
    "compile_rules",
    "evaluate",
    "validate",
]
