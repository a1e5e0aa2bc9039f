"""The guard rewrite must not change what ordinary Python means: random small programs give the same values
in the sandbox as under plain ``exec`` (or both fail)."""

from __future__ import annotations

import warnings
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.rules import RulesSyntaxError, compile_rules, evaluate

NAMES = ["a", "b", "c"]
INIT = "a = 7\nb = 'Hello World'\nc = [3, 1, 2]\n"

ints = st.integers(min_value=-20, max_value=20).map(str)
strs = st.sampled_from(["'x'", "'ab'", "''", "'Q!'", "b", "msg"])
lists = st.sampled_from(["c", "[1, 2]", "[]", "list(range(4))", "sorted(c)"])


def _exprs() -> st.SearchStrategy[str]:
    leaf = st.one_of(ints, strs, lists, st.sampled_from(NAMES))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(
                inner, st.sampled_from(["+", "-", "*", "%", "//", "**", "<<", "==", "<", "in", "and", "or"]), inner
            ).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, ints, ints).map(lambda t: f"({t[0]})[{t[1]}:{t[2]}]"),
            st.tuples(inner, ints).map(lambda t: f"({t[0]})[{t[1]}]"),
            st.tuples(
                inner, st.sampled_from(["upper()", "lower()", "split()", "strip()", "count('l')", "isupper()"])
            ).map(lambda t: f"({t[0]}).{t[1]}"),
            inner.map(lambda e: f"[v for v in ({e}) if v]"),
            inner.map(lambda e: f"sum(1 for v in ({e}))"),
            inner.map(lambda e: f"f'<{{{e}}}>'"),
            inner.map(lambda e: f"len({e})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} if {t[1]} else 0)"),
        )

    return st.recursive(leaf, extend, max_leaves=6)


def _statements() -> st.SearchStrategy[str]:
    assign = st.tuples(st.sampled_from(NAMES), _exprs()).map(lambda t: f"{t[0]} = {t[1]}")
    aug = st.tuples(st.sampled_from(NAMES), st.sampled_from(["+=", "*=", "-="]), _exprs()).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}"
    )
    loop = st.tuples(st.sampled_from(NAMES), _exprs()).map(lambda t: f"for v in range(3):\n    {t[0]} = {t[1]}")
    cond = st.tuples(_exprs(), st.sampled_from(NAMES), _exprs()).map(
        lambda t: f"if {t[0]}:\n    {t[1]} = {t[2]}\nelse:\n    pass"
    )
    return st.lists(st.one_of(assign, aug, loop, cond), min_size=1, max_size=4).map("\n".join)


def _plain(source: str) -> tuple[str, Any]:
    g: dict[str, Any] = {"msg": "Printer DOWN!"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            code = compile(INIT + source, "<plain>", "exec")
        exec(code, g)
    except Exception as exc:
        return "error", type(exc).__name__
    return "ok", {n: g[n] for n in NAMES}


def _sandboxed(source: str) -> tuple[str, Any]:
    try:
        compiled = compile_rules(INIT + source)
    except RulesSyntaxError:
        return "rejected", None
    ev = evaluate(compiled, {"msg": "Printer DOWN!"}, include_helpers=True)
    if ev.error is not None:
        return "error", ev.error.message
    assert ev.helpers is not None
    return "ok", {n: ev.helpers[n] for n in NAMES}


def _jsonish(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonish(v) for v in value]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_statements())
def test_sandbox_agrees_with_plain_python(source: str) -> None:
    plain = _plain(source)
    boxed = _sandboxed(source)
    if plain[0] == "ok" and boxed[0] == "ok":
        assert {k: _jsonish(v) for k, v in plain[1].items()} == boxed[1], source
    elif plain[0] == "ok":
        # the sandbox may only refuse where a limit applies (huge powers/shifts/repeats)
        assert boxed[0] == "error" and any(w in boxed[1] for w in ("too large", "too long", "limit")), (source, boxed)
    else:
        assert boxed[0] == "error", (source, plain, boxed)
