"""The values saved Dispatcher Rules assign to picklist variables, found statically (nothing runs).

`priority = 'Sunday'` only fails when a press reaches that line; the Integration Test finds it beforehand by
walking the rules' syntax tree for string (and, for `worktype`, integer) literals that can end up in a picklist
variable:

- assigned directly (`priority = 'High'`, `queue := 'Tier 1'`),
- either branch of a conditional (`priority = 'High' if vip else 'Low'`) or an `or`/`and` default,
- an element of a literal list/tuple/dict that is indexed (`priority = ['Critical', 'High'][n]`), also through a
  helper variable holding such a literal (`names = [...]` then `priority = names[n]`: the priority matrix).

Only parsing happens (`ast.parse`); the source was validated (size, nesting) when it was saved.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# Rules variables whose value is looked up in an Autotask picklist (settings field names) and `worktype`.
PICKLIST_VARIABLES = ("priority", "ticketStatus", "queue", "type", "source", "issue", "subIssue", "category")
CHECKED_VARIABLES = frozenset((*PICKLIST_VARIABLES, "worktype"))
MAX_LITERALS = 50


@dataclass(frozen=True)
class AssignedLiteral:
    variable: str
    value: str | int
    line: int


def _literal(node: ast.expr, variable: str) -> list[str | int]:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str) and value.strip():
            return [value]
        if variable == "worktype" and isinstance(value, int) and not isinstance(value, bool):
            return [value]
    return []


def _candidates(node: ast.expr, variable: str, helpers: dict[str, list[ast.expr]], depth: int = 0) -> list[str | int]:
    if depth > 10:
        return []
    found = _literal(node, variable)
    if found:
        return found
    parts: list[ast.expr] = []
    if isinstance(node, ast.IfExp):
        parts = [node.body, node.orelse]
    elif isinstance(node, ast.BoolOp):
        parts = list(node.values)
    elif isinstance(node, ast.Subscript):
        container = node.value
        if isinstance(container, (ast.List, ast.Tuple)):
            parts = list(container.elts)
        elif isinstance(container, ast.Dict):
            parts = list(container.values)
        elif isinstance(container, ast.Name):
            parts = helpers.get(container.id, [])
    elif isinstance(node, ast.NamedExpr):
        parts = [node.value]
    out: list[str | int] = []
    for part in parts:
        out += _candidates(part, variable, helpers, depth + 1)
    return out


def _targets(node: ast.AST) -> tuple[list[str], ast.expr | None]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)], node.value
    if isinstance(node, ast.NamedExpr):
        return [node.target.id], node.value
    return [], None


def assigned_literals(source: str, aliases: dict[str, str] | None = None) -> list[AssignedLiteral]:
    """Each distinct (variable, literal) the rules may assign, with the first line it appears on (at most
    MAX_LITERALS). `aliases` maps other accepted spellings (`subissue`) to the variable. Unparsable source: []."""
    aliases = aliases or {}
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    helpers: dict[str, list[ast.expr]] = {}
    assignments: list[tuple[str, ast.expr, int]] = []
    for node in ast.walk(tree):
        names, value = _targets(node)
        if value is None:
            continue
        for name in names:
            variable = aliases.get(name, name)
            if variable in CHECKED_VARIABLES:
                assignments.append((variable, value, getattr(node, "lineno", 0)))
            elif isinstance(value, (ast.List, ast.Tuple)):
                helpers.setdefault(name, []).extend(value.elts)
            elif isinstance(value, ast.Dict):
                helpers.setdefault(name, []).extend(value.values)
    seen: dict[tuple[str, str | int], AssignedLiteral] = {}
    for variable, value, line in sorted(assignments, key=lambda a: a[2]):
        for literal in _candidates(value, variable, helpers):
            key = (variable, literal.casefold() if isinstance(literal, str) else literal)
            if key not in seen:
                seen[key] = AssignedLiteral(variable, literal, line)
    return list(seen.values())[:MAX_LITERALS]
