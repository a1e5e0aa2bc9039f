"""Validate Dispatcher Rules source against an allow-list, then rewrite risky nodes into guard calls and compile.

Validation never executes anything. It reports every problem with line/column and a plain message (errors block
saving; warnings are likely mistakes). The rewrite is described in runtime.py.
"""

from __future__ import annotations

import ast
import difflib
import warnings
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from helpdesk.rules import variables as V
from helpdesk.rules.modules import MODULES
from helpdesk.rules.runtime import AUG_GUARDS, RAW_SAFE_ATTRS, SAFE_BUILTINS, Limits

FILENAME: Final = "<rules>"
Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in rules source. ``line``/``column`` are 1-based (0 when not tied to a place)."""

    severity: Severity
    code: str
    message: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.message}"


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """Rules that passed validation, compiled to a code object ready for :func:`engine.evaluate`."""

    source: str
    code: Any
    warnings: tuple[Diagnostic, ...]
    assigned: frozenset[str] = field(default_factory=frozenset)


class RulesSyntaxError(ValueError):
    """The source has errors; ``diagnostics`` lists them all (errors first)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        first = next((d for d in diagnostics if d.severity == "error"), diagnostics[0])
        super().__init__(str(first))


_FORBIDDEN: Final[dict[type[ast.AST], str]] = {
    ast.FunctionDef: "defining functions (`def`) is not allowed in rules",
    ast.AsyncFunctionDef: "defining functions (`async def`) is not allowed in rules",
    ast.Lambda: "`lambda` is not allowed in rules",
    ast.ClassDef: "defining classes is not allowed in rules",
    ast.Return: "`return` is not allowed: rules are not a function",
    ast.Delete: "`del` is not allowed in rules",
    ast.While: "`while` loops are not allowed: use `for` over a list or range()",
    ast.With: "`with` is not allowed in rules",
    ast.AsyncWith: "`async with` is not allowed in rules",
    ast.AsyncFor: "`async for` is not allowed in rules",
    ast.Raise: "`raise` is not allowed: set exception = '...' to stop the ticket with a message",
    ast.Try: "`try` is not allowed in rules: errors stop the rules and set `exception`",
    ast.TryStar: "`try` is not allowed in rules",
    ast.Assert: "`assert` is not allowed: set exception = '...' instead",
    ast.Global: "`global` is not allowed (every name in rules is already global)",
    ast.Nonlocal: "`nonlocal` is not allowed in rules",
    ast.Yield: "`yield` is not allowed in rules",
    ast.YieldFrom: "`yield from` is not allowed in rules",
    ast.Await: "`await` is not allowed in rules",
    ast.Match: "`match` statements are not supported in rules: use if/elif",
    ast.AnnAssign: "type annotations are not supported in rules",
    ast.MatMult: "the `@` operator is not supported in rules",
}
if hasattr(ast, "TypeAlias"):
    _FORBIDDEN[ast.TypeAlias] = "`type` aliases are not supported in rules"

_ALLOWED: Final = frozenset(
    {
        ast.Module,
        ast.Expr,
        ast.Assign,
        ast.AugAssign,
        ast.If,
        ast.For,
        ast.Break,
        ast.Continue,
        ast.Pass,
        ast.Import,
        ast.ImportFrom,
        ast.alias,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.BinOp,
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.FloorDiv,
        ast.Mod,
        ast.Pow,
        ast.LShift,
        ast.RShift,
        ast.BitOr,
        ast.BitXor,
        ast.BitAnd,
        ast.UnaryOp,
        ast.UAdd,
        ast.USub,
        ast.Not,
        ast.Invert,
        ast.IfExp,
        ast.NamedExpr,
        ast.Dict,
        ast.Set,
        ast.List,
        ast.Tuple,
        ast.ListComp,
        ast.SetComp,
        ast.DictComp,
        ast.GeneratorExp,
        ast.comprehension,
        ast.Compare,
        ast.Eq,
        ast.NotEq,
        ast.Lt,
        ast.LtE,
        ast.Gt,
        ast.GtE,
        ast.Is,
        ast.IsNot,
        ast.In,
        ast.NotIn,
        ast.Call,
        ast.keyword,
        ast.FormattedValue,
        ast.JoinedStr,
        ast.Constant,
        ast.Attribute,
        ast.Subscript,
        ast.Slice,
        ast.Starred,
        ast.Name,
        ast.Load,
        ast.Store,
    }
)
_BUILTIN_NAMES: Final = frozenset(SAFE_BUILTINS)
_IDENTITY_CONSTANTS: Final = (None, True, False, Ellipsis)


def _where(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", -1) + 1


def _suggest(name: str) -> str | None:
    if name in V.ALIASES:
        return V.ALIASES[name]
    lowered = {n.lower().replace("_", ""): n for n in V.ALL}
    hit = lowered.get(name.lower().replace("_", ""))
    if hit:
        return hit
    close = difflib.get_close_matches(name, sorted(V.ALL), n=1, cutoff=0.8)
    return close[0] if close else None


class _Validator:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.out: list[Diagnostic] = []
        self.stored: set[str] = set()
        self.loaded: dict[str, ast.AST] = {}
        self.comp_targets: set[int] = set()
        self.comp_stored: set[str] = set()

    def error(self, node: ast.AST | None, code: str, message: str) -> None:
        line, col = _where(node) if node is not None else (0, 0)
        self.out.append(Diagnostic("error", code, message, line, col))

    def warn(self, node: ast.AST | None, code: str, message: str) -> None:
        line, col = _where(node) if node is not None else (0, 0)
        self.out.append(Diagnostic("warning", code, message, line, col))

    def run(self, tree: ast.Module) -> None:
        nodes = 0
        stack: list[tuple[ast.AST, int]] = [(tree, 0)]
        too_deep = False
        for comp in (n for n in ast.walk(tree) if isinstance(n, ast.comprehension)):
            for t in ast.walk(comp.target):
                self.comp_targets.add(id(t))
        while stack:
            node, depth = stack.pop()
            nodes += 1
            if nodes > self.limits.max_ast_nodes:
                self.error(None, "too-large", f"rules are too large (more than {self.limits.max_ast_nodes:,} nodes)")
                return
            if depth > self.limits.max_depth and not too_deep:
                too_deep = True
                self.error(node, "too-deep", f"code is nested too deeply (more than {self.limits.max_depth} levels)")
            if self.check(node):
                stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
        self.check_names()

    def check(self, node: ast.AST) -> bool:
        """Check one node; False when it is forbidden outright (its children are not reported as well)."""
        kind = type(node)
        if kind not in _ALLOWED:
            self.error(node, "forbidden", _FORBIDDEN.get(kind, f"`{kind.__name__}` is not allowed in rules"))
            return False
        if isinstance(node, ast.Name):
            self.check_name(node)
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                self.error(node, "private-attribute", f"attributes starting with '_' cannot be used ({node.attr})")
            if not isinstance(node.ctx, ast.Load):
                self.error(node, "attribute-assignment", "setting attributes is not allowed in rules")
        elif isinstance(node, ast.Subscript):
            if not isinstance(node.ctx, ast.Load | ast.Store):
                self.error(node, "forbidden", "deleting items is not allowed in rules")
            elif isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):
                self.error(node, "forbidden", "assigning to a slice is not supported in rules: build a new list")
        elif isinstance(node, ast.For | ast.comprehension):
            if any(isinstance(t, ast.Starred) for t in ast.walk(node.target)):
                self.error(node.target, "forbidden", "`*name` in a loop target is not supported in rules")
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bytes):
                self.error(node, "bytes", "bytes literals are not supported in rules")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            self.check_import(node)
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.Is | ast.IsNot) and self.is_literal(node, right):
                    eq = "==" if isinstance(op, ast.Is) else "!="
                    word = "is" if isinstance(op, ast.Is) else "is not"
                    self.warn(
                        node, "is-literal", f"`{word}` compares identity, not value: treated as `{eq}` (write `{eq}`)"
                    )
        elif isinstance(node, ast.comprehension):
            if node.is_async:
                self.error(node.target, "forbidden", "`async` comprehensions are not allowed in rules")
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            if isinstance(node.target.slice, ast.Slice):
                self.error(node, "forbidden", "augmented assignment to a slice is not supported in rules")
        elif isinstance(node, ast.keyword) and node.arg is not None and node.arg.startswith("_"):
            self.error(node, "private-name", f"keyword arguments starting with '_' cannot be used ({node.arg})")

        return True

    @staticmethod
    def is_literal(compare: ast.Compare, right: ast.expr) -> bool:
        def lit(e: ast.expr) -> bool:
            return isinstance(e, ast.Constant) and not any(e.value is c for c in _IDENTITY_CONSTANTS)

        return lit(right) or (len(compare.ops) == 1 and lit(compare.left))

    def check_name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("_") and name != "_":
            self.error(node, "private-name", f"names starting with '_' are reserved ({name})")
            return
        if isinstance(node.ctx, ast.Store):
            if id(node) in self.comp_targets:
                self.comp_stored.add(name)
                return
            self.stored.add(name)
            if name in V.READ_ONLY_SET:
                self.error(node, "read-only", f"`{name}` is read-only and cannot be assigned")
        elif isinstance(node.ctx, ast.Load):
            self.loaded.setdefault(name, node)
        else:
            self.error(node, "forbidden", "`del` is not allowed in rules")

    def check_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or module not in MODULES:
                self.error(node, "import", self.import_message(module))
                return
            for alias in node.names:
                if alias.name == "*":
                    self.error(node, "import", "`from ... import *` is not allowed: import names one by one")
                elif alias.name not in MODULES[module].members:
                    self.error(node, "import", f"module '{module}' has no '{alias.name}' available in rules")
                else:
                    self.bind_import(node, alias.asname or alias.name)
            return
        for alias in node.names:
            if alias.name not in MODULES:
                self.error(node, "import", self.import_message(alias.name))
            else:
                self.bind_import(node, alias.asname or alias.name)

    def bind_import(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            self.error(node, "private-name", f"names starting with '_' are reserved ({name})")
        elif name in V.READ_ONLY_SET:
            self.error(node, "read-only", f"`{name}` is read-only and cannot be assigned")
        self.stored.add(name)

    @staticmethod
    def import_message(module: str) -> str:
        allowed = ", ".join(sorted(MODULES))
        return f"module '{module}' cannot be imported in rules (allowed: {allowed})"

    def check_names(self) -> None:
        known = V.ALL | _BUILTIN_NAMES | {"_"}
        for name, node in sorted(self.loaded.items(), key=lambda kv: _where(kv[1])):
            if name in known or name in self.stored or name in self.comp_stored or name.startswith("_"):
                continue
            hint = _suggest(name)
            also = f" (did you mean `{hint}`?)" if hint else ""
            self.warn(node, "undefined-name", f"`{name}` is not a rule variable and is never assigned{also}")
        for name in sorted(self.stored - known):
            hint = _suggest(name)
            if hint and hint != name and name not in self.loaded:
                self.warn(
                    None,
                    "not-a-variable",
                    f"`{name}` is not a rule variable, so its value is not submitted (did you mean `{hint}`?)",
                )


def _parse(source: str, limits: Limits) -> tuple[ast.Module | None, list[Diagnostic]]:
    if len(source) > limits.max_source_chars:
        msg = f"rules are too long ({len(source):,} characters; the limit is {limits.max_source_chars:,})"
        return None, [Diagnostic("error", "too-large", msg)]
    if "\x00" in source:
        return None, [Diagnostic("error", "syntax", "rules contain a NUL character")]
    try:
        return ast.parse(source, filename=FILENAME, mode="exec"), []
    except SyntaxError as exc:
        text = exc.msg
        line, col = exc.lineno or 0, exc.offset or 0
        return None, [Diagnostic("error", "syntax", f"syntax error: {text}", line, col)]
    except (RecursionError, MemoryError, ValueError, OverflowError):
        return None, [Diagnostic("error", "too-deep", "code is nested too deeply to parse")]


def _python_diagnostics(source: str) -> list[Diagnostic]:
    """What CPython's own compiler says: errors the parser lets through ('break' outside a loop) and its
    SyntaxWarnings ('int' object is not subscriptable; perhaps you missed a comma?). Nothing is executed."""
    out: list[Diagnostic] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            compile(source, FILENAME, "exec", dont_inherit=True)
        except SyntaxError as exc:
            out.append(Diagnostic("error", "syntax", f"syntax error: {exc.msg}", exc.lineno or 0, exc.offset or 0))
        except (RecursionError, MemoryError, ValueError, OverflowError):
            out.append(Diagnostic("error", "too-deep", "code is nested too deeply to compile"))
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, SyntaxWarning) and '"is" with' not in text and '"is not" with' not in text:
            out.append(Diagnostic("warning", "python-warning", text, w.lineno or 0))
    return out


def _original_spellings(tree: ast.Module) -> list[Diagnostic]:
    """Rename the original product's spellings (`business_name`, `message`, `subissue`) to the variables they
    mean, with a warning; refuse them where that would be ambiguous (the real name is used too, or the spelling
    is bound by an import)."""
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    imported = {
        alias.asname or alias.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for alias in n.names
    }
    out: list[Diagnostic] = []
    first: dict[str, ast.Name] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in V.ORIGINAL_SPELLINGS:
            first.setdefault(node.id, node)
    for spelling, node in sorted(first.items(), key=lambda kv: _where(kv[1])):
        real = V.ORIGINAL_SPELLINGS[spelling]
        line, col = _where(node)
        if real in used or spelling in imported:
            out.append(
                Diagnostic(
                    "error",
                    "ambiguous-name",
                    f"`{spelling}` is the original product's name for `{real}`, but these rules also use "
                    f"`{real}`{' or import a module as it' if spelling in imported else ''}: write `{real}` "
                    f"everywhere (or give your own variable another name)",
                    line,
                    col,
                )
            )
            continue
        out.append(
            Diagnostic(
                "warning",
                "original-spelling",
                f"`{spelling}` is the original product's spelling: it is read and set as `{real}` (write `{real}`)",
                line,
                col,
            )
        )
    if not any(d.severity == "error" for d in out):
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in V.ORIGINAL_SPELLINGS:
                node.id = V.ORIGINAL_SPELLINGS[node.id]
    return out


def _analyse(source: str, limits: Limits) -> tuple[ast.Module | None, list[Diagnostic], _Validator | None]:
    tree, diags = _parse(source, limits)
    if tree is None:
        return None, diags, None
    spellings = _original_spellings(tree)
    v = _Validator(limits)
    v.run(tree)
    diags = [*spellings, *v.out]
    if not any(d.severity == "error" for d in diags):
        diags.extend(_python_diagnostics(source))
    return tree, sorted(diags, key=lambda d: (d.line == 0, d.line, d.column, d.severity)), v


def validate(source: str, limits: Limits | None = None) -> list[Diagnostic]:
    """Every error and warning for ``source``, sorted by position (errors block saving, warnings do not)."""
    return _analyse(source, limits or Limits())[1]


# ---------------------------------------------------------------------------------------------------- the rewrite
def _name(id_: str) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Load())


def _call(fn: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(fn), args=list(args), keywords=[])


def _const(value: Any) -> ast.Constant:
    return ast.Constant(value=value)


def _is_number(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _tick_stmt() -> ast.If:
    """``if _c() > _L: _lim()``: one C-level call and a compare per loop iteration."""
    test = ast.Compare(left=_call("_c"), ops=[ast.Gt()], comparators=[_name("_L")])
    return ast.If(test=test, body=[ast.Expr(value=_call("_lim"))], orelse=[])


_BINOP_GUARDS: Final[dict[type[ast.operator], str]] = {
    ast.Add: "_add",
    ast.Mult: "_mul",
    ast.Pow: "_pow",
    ast.Mod: "_mod",
    ast.LShift: "_lshift",
}


MAX_FSTRING_FIELDS: Final = 8
"""f-strings with more fields are joined by _fjoin, which checks the total size before building it."""
_AUG_NAMES: Final = {"Add": "_iadd", "Mult": "_imul", "Mod": "_imod", "Pow": "_ipow", "LShift": "_ilshift"}


class _Rewriter(ast.NodeTransformer):
    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        value = self.visit(node.value)
        if node.attr in RAW_SAFE_ATTRS:
            node.value = value
            return node
        return ast.copy_location(_call("_ga", value, _const(node.attr)), node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        if guard == "_add" and (_is_number(node.left) or _is_number(node.right)):
            return node  # number + number cannot grow a sequence; an int grows by one bit at most
        return ast.copy_location(_call(guard, node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        self.generic_visit(node)
        op = type(node.op).__name__
        if op not in AUG_GUARDS or (op == "Add" and _is_number(node.value)):
            return node
        target = node.target
        if isinstance(target, ast.Name):
            load = ast.Name(id=target.id, ctx=ast.Load())
            call = _call(_AUG_NAMES[op], load, node.value)
            return ast.copy_location(ast.Assign(targets=[target], value=call), node)
        if isinstance(target, ast.Subscript):
            call = _call("_aug_item", target.value, target.slice, _const(op), node.value)
            return ast.copy_location(ast.Expr(value=call), node)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        if any(isinstance(t, ast.Starred) for target in node.targets for t in ast.walk(target)):
            node.value = ast.copy_location(_call("_unpack", node.value), node.value)  # `a, *rest = x` copies x
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Slice):
            s = node.slice
            parts = [p if p is not None else _const(None) for p in (s.lower, s.upper, s.step)]
            return ast.copy_location(_call("_slice", node.value, *parts), node)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        ops: list[ast.cmpop] = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.Is | ast.IsNot) and _Validator.is_literal(node, right):
                ops.append(ast.Eq() if isinstance(op, ast.Is) else ast.NotEq())
            else:
                ops.append(op)
        node.ops = ops
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        tick = ast.copy_location(_tick_stmt(), node)
        node.body = [tick, *node.body]
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = ast.copy_location(_call("_it", node.iter), node.iter)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        values: list[ast.expr] = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                value = self.visit(part.value)
                spec = self.visit(part.format_spec) if part.format_spec is not None else _const(None)
                guarded = _call("_fv", value, _const(part.conversion), spec)
                values.append(ast.FormattedValue(value=guarded, conversion=-1, format_spec=None))
            else:
                values.append(part)
        node.values = values
        if sum(isinstance(v, ast.FormattedValue) for v in values) > MAX_FSTRING_FIELDS:
            parts = [v.value if isinstance(v, ast.FormattedValue) else v for v in values]
            return ast.copy_location(_call("_fjoin", ast.List(elts=parts, ctx=ast.Load())), node)
        return ast.copy_location(_call("_chk", node), node)

    def _display(self, node: ast.List | ast.Tuple | ast.Set) -> ast.AST:
        self.generic_visit(node)
        if isinstance(getattr(node, "ctx", ast.Load()), ast.Load) and any(
            isinstance(e, ast.Starred) for e in node.elts
        ):
            if isinstance(node, ast.Set):  # {*items}: build through the chunked set() (hash-collision safe)
                return ast.copy_location(_call("_setd", ast.List(elts=node.elts, ctx=ast.Load())), node)
            return ast.copy_location(_call("_chk", node), node)
        return node

    visit_List = _display
    visit_Tuple = _display
    visit_Set = _display

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        if any(k is None for k in node.keys):
            return ast.copy_location(_call("_chk", node), node)
        return node

    def visit_Import(self, node: ast.Import) -> ast.AST:
        targets = [
            ast.Assign(targets=[ast.Name(id=a.asname or a.name, ctx=ast.Store())], value=_call("_imp", _const(a.name)))
            for a in node.names
        ]
        return self._block(node, targets)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        targets = [
            ast.Assign(
                targets=[ast.Name(id=a.asname or a.name, ctx=ast.Store())],
                value=_call("_imp_from", _const(node.module), _const(a.name)),
            )
            for a in node.names
        ]
        return self._block(node, targets)

    @staticmethod
    def _block(node: ast.stmt, stmts: list[ast.Assign]) -> ast.AST:
        # An `if True:` block keeps a single statement in place of the import (NodeTransformer accepts lists too,
        # but a block keeps line numbers obvious in tracebacks).
        for s in stmts:
            ast.copy_location(s, node)
        return ast.copy_location(ast.If(test=_const(True), body=list(stmts), orelse=[]), node)


def compile_rules(source: str, limits: Limits | None = None) -> CompiledRules:
    """Validate and compile; raises :class:`RulesSyntaxError` with every diagnostic if there is any error."""
    tree, diags, v = _analyse(source, limits or Limits())
    if tree is None or v is None or any(d.severity == "error" for d in diags):
        raise RulesSyntaxError(diags)
    rewritten = ast.fix_missing_locations(_Rewriter().visit(tree))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = compile(rewritten, FILENAME, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:  # pragma: no cover - validated above
        raise RulesSyntaxError([Diagnostic("error", "syntax", f"cannot compile rules: {exc}")]) from None
    return CompiledRules(source=source, code=code, warnings=tuple(diags), assigned=frozenset(v.stored))
