"""Evaluate compiled Dispatcher Rules over one submission's variables, and cache compiled rules per tenant version."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from time import perf_counter
from types import TracebackType
from typing import Any, Final

from helpdesk.domain.rules import Classification, ClassificationRequest
from helpdesk.rules import variables as V
from helpdesk.rules.categorize import ANSWERS, CategorizeLimitError, ClassificationPending
from helpdesk.rules.compiler import FILENAME, CompiledRules, Diagnostic, RulesSyntaxError, compile_rules, validate
from helpdesk.rules.modules import import_from, import_module
from helpdesk.rules.runtime import (
    GUARDS,
    METER,
    SAFE_BUILTINS,
    Limits,
    Module,
    RulesForbiddenError,
    RulesLimitError,
    scrub,
)

DEFAULT_LIMITS: Final = Limits()
_BASE: Final[dict[str, Any]] = {
    "__builtins__": SAFE_BUILTINS,
    **GUARDS,
    "_imp": import_module,
    "_imp_from": import_from,
    **{name: V.default_value(name) for name in V.ALL},
}
_SCALARS: Final = (str, int, bool, type(None))
_SCALAR_SET: Final = frozenset(_SCALARS)
_LOCK: Final = threading.Lock()
_ALL: Final = V.ALL
_GET_RO: Final = itemgetter(*V.READ_ONLY)
_GET_RW: Final = itemgetter(*V.READ_WRITE)
METER_LIMITS: list[Limits | None] = [None]
_MAX_MESSAGE: Final = 500


@dataclass(slots=True)
class Evaluation:
    """What one run of the rules produced."""

    variables: dict[str, Any]
    """Final value of every rule variable (read-only ones as given), JSON-compatible."""
    changed: list[str]
    """Read/write variables (and ``exception``) whose value differs from the input."""
    exception: str | None
    """Block the ticket with this text: set by the rules, or automatically when they fail (see ``error``)."""
    error: Diagnostic | None
    """Why the rules stopped early (runtime error or limit), with its line; ``None`` when they ran to the end."""
    warnings: list[Diagnostic] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    """Lines the rules printed with ``print()`` (shown in test runs)."""
    helpers: dict[str, Any] | None = None
    """Helper variables the rules defined (only when asked for: test runs)."""
    duration_ms: float = 0.0
    steps: int = 0
    pending: list[ClassificationRequest] = field(default_factory=list)
    """``ai_categorize`` questions to answer before the rules can finish (the run stopped at the first one)."""
    classifications: list[Classification] = field(default_factory=list)
    """The ``ai_categorize`` answers this run used, in the order it asked."""


class UnknownVariableError(ValueError):
    """The caller passed variables the rules do not know."""


def _rules_line(tb: TracebackType | None) -> int:
    line = 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def describe_failure(exc: BaseException) -> Diagnostic:
    """A short, tenant-facing description of why rule code stopped (never an internal traceback)."""
    line = _rules_line(exc.__traceback__)
    code = "runtime-error"
    if isinstance(exc, NameError):
        msg = (
            f"name '{exc.name}' is not defined: it is not a rule variable and was not assigned before this line"
            if getattr(exc, "name", None)
            else str(exc)
        )
        code = "undefined-name"
    elif isinstance(exc, RulesLimitError | CategorizeLimitError):
        msg, code = str(exc), "limit"
    elif isinstance(exc, RulesForbiddenError):
        msg, code = str(exc), "forbidden"
    elif isinstance(exc, RecursionError):
        msg, code = "data nested too deeply", "limit"
    elif isinstance(exc, MemoryError):
        msg, code = "memory limit exceeded", "limit"
    else:
        detail = scrub(str(exc))
        msg = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    if len(msg) > _MAX_MESSAGE:
        msg = msg[: _MAX_MESSAGE - 3] + "..."
    return Diagnostic("error", code, msg, line, 0)


def failure_text(diag: Diagnostic) -> str:
    """The ``exception`` text when rules fail: what the end user would see."""
    where = f" on line {diag.line}" if diag.line else ""
    return f"Rules error{where}: {diag.message}"


def _jsonable(value: Any, depth: int = 0) -> Any:
    t = type(value)
    if t in _SCALARS:
        return value
    if t is float:
        return value if math.isfinite(value) else str(value)
    if depth > 20:
        raise ValueError("nested too deeply")
    if t is list or t is tuple:
        return [_jsonable(v, depth + 1) for v in value]
    if t is dict:
        return {k if type(k) is str else str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if t is set or t is frozenset:
        return sorted((_jsonable(v, depth + 1) for v in value), key=repr)
    raise TypeError(t.__name__)


def _export(name: str, value: Any, warnings: list[Diagnostic]) -> Any:
    try:
        return _jsonable(value)
    except (TypeError, ValueError, RecursionError):
        warnings.append(
            Diagnostic("warning", "not-json", f"`{name}` holds a {type(value).__name__}: submitted as its text")
        )
        try:
            return scrub(str(value)[:10_000])
        except Exception:
            return "<unprintable>"


def evaluate(
    compiled: CompiledRules,
    variables: Mapping[str, Any],
    *,
    limits: Limits = DEFAULT_LIMITS,
    include_helpers: bool = False,
    classifications: Sequence[Classification] = (),
) -> Evaluation:
    """Run compiled rules once. Never raises for anything the rules do; raises UnknownVariableError for bad input.

    ``classifications`` answer the rules' ``ai_categorize`` questions; a question without an answer stops the run
    and comes back in ``Evaluation.pending`` (the variables are then those at the stop: do not submit them)."""
    if not _ALL.issuperset(variables):
        unknown = variables.keys() - _ALL
        raise UnknownVariableError(f"unknown variable(s): {', '.join(sorted(unknown))}")
    g = _BASE.copy()
    g.update(variables)
    read_only = _GET_RO(g)
    initial = _GET_RW(g)
    initial_exception = g[V.EXCEPTION]
    selections = g["selections"]
    if type(selections) is list:
        g["selections"] = selections.copy()  # rules may mutate their copy; the input stays as given
    with _LOCK:
        if METER_LIMITS[0] is not limits:
            METER.configure(limits)
            METER_LIMITS[0] = limits
        METER.start(g)
        ANSWERS.start(classifications)
        t0 = perf_counter()
        error: Diagnostic | None = None
        pending: list[ClassificationRequest] = []
        try:
            exec(compiled.code, g)  # noqa: S102 - the sandbox: validated, guard-rewritten code with tiny builtins
        except ClassificationPending as exc:
            pending.append(exc.request)
            del exc
        except Exception as exc:
            error = describe_failure(exc)
            del exc
        elapsed = perf_counter() - t0
        steps = g["_c"]() - 1 + METER.bulk
        output = METER.output
        METER.globals = {}
        used = ANSWERS.used
        ANSWERS.start(())
    warnings = list(compiled.warnings)
    after = _GET_RW(g)
    if not _SCALAR_SET.issuperset(map(type, after)):
        after = tuple(
            v if type(v) in _SCALAR_SET else _export(n, v, warnings) for n, v in zip(V.READ_WRITE, after, strict=True)
        )
    out_vars: dict[str, Any] = dict(zip(V.READ_ONLY, read_only, strict=True))
    out_vars.update(zip(V.READ_WRITE, after, strict=True))
    changed = [] if after == initial else [n for n, b, a in zip(V.READ_WRITE, initial, after, strict=True) if a != b]
    raw_exception = g.get(V.EXCEPTION)
    exception: str | None
    if error is not None:
        exception = failure_text(error)
    elif raw_exception is None or raw_exception == "" or raw_exception is False:
        exception = None
    else:
        exception = raw_exception if type(raw_exception) is str else str(_export("exception", raw_exception, []))
    if raw_exception != initial_exception or error is not None:
        changed.append(V.EXCEPTION)
    helpers = _helpers(g) if include_helpers else None
    return Evaluation(
        variables=out_vars,
        changed=changed,
        exception=exception,
        error=error,
        warnings=warnings,
        output=output,
        helpers=helpers,
        duration_ms=elapsed * 1000,
        steps=steps,
        pending=pending,
        classifications=used,
    )


def _helpers(g: dict[str, Any]) -> dict[str, Any]:
    """Helper variables for test runs (values that are not JSON are shown as their text, without a warning)."""
    out: dict[str, Any] = {}
    ignored: list[Diagnostic] = []
    for name, value in g.items():
        if name.startswith("_") or name in V.ALL or type(value) is Module or callable(value):
            continue
        out[name] = _export(name, value, ignored)
    return out


class RulesEngine:
    """Compiles rules once per (tenant, version) into a bounded LRU cache, and evaluates them.

    Thread-safe; one instance per process (the ``rules`` Lambda keeps one at module level).
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS, cache_size: int = 256) -> None:
        self.limits = limits
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], CompiledRules | RulesSyntaxError] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def compile(self, tenant_id: str, version: str, source: str) -> CompiledRules:
        """Compiled rules for this tenant version (cached); raises RulesSyntaxError if the source has errors."""
        key = (tenant_id, version)
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                cached_source = entry.source if isinstance(entry, CompiledRules) else getattr(entry, "source", None)
                if cached_source == source:
                    self._cache.move_to_end(key)
                    self.hits += 1
                    if isinstance(entry, RulesSyntaxError):
                        raise entry
                    return entry
        self.misses += 1
        result: CompiledRules | RulesSyntaxError
        try:
            result = compile_rules(source, self.limits)
        except RulesSyntaxError as exc:
            exc.source = source  # type: ignore[attr-defined]
            exc.__traceback__ = None  # cached: keep no frames alive
            result = exc
        with self._lock:
            self._cache[key] = result
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        if isinstance(result, RulesSyntaxError):
            raise result
        return result

    def evaluate(
        self,
        tenant_id: str,
        version: str,
        source: str,
        variables: Mapping[str, Any],
        *,
        include_helpers: bool = False,
        classifications: Sequence[Classification] = (),
    ) -> Evaluation:
        """Compile (cached) and run. Rules with errors evaluate to ``exception`` naming the first error."""
        try:
            compiled = self.compile(tenant_id, version, source)
        except RulesSyntaxError as exc:
            first = next(d for d in exc.diagnostics if d.severity == "error")
            values = {name: variables.get(name, V.default_value(name)) for name in (*V.READ_ONLY, *V.READ_WRITE)}
            return Evaluation(
                variables=_jsonable(values),
                changed=[V.EXCEPTION],
                exception=failure_text(first),
                error=first,
                warnings=[d for d in exc.diagnostics if d.severity == "warning"],
            )
        return evaluate(
            compiled, variables, limits=self.limits, include_helpers=include_helpers, classifications=classifications
        )

    def validate(self, source: str) -> list[Diagnostic]:
        return validate(source, self.limits)

    def cache_len(self) -> int:
        return len(self._cache)
