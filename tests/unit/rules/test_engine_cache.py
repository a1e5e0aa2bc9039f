"""RulesEngine: compiled rules cached per (tenant, version), bounded LRU; rules with errors evaluate safely."""

from __future__ import annotations

from helpdesk.rules import RulesEngine
from tests.unit.rules.conftest import SAMPLE


def test_same_tenant_and_version_compiles_once() -> None:
    engine = RulesEngine()
    first = engine.compile("t1", "1", "x = 1")
    assert engine.compile("t1", "1", "x = 1") is first
    assert (engine.hits, engine.misses) == (1, 1)


def test_tenants_and_versions_are_cached_separately() -> None:
    engine = RulesEngine()
    a = engine.compile("t1", "1", "x = 1")
    b = engine.compile("t2", "1", "x = 1")
    c = engine.compile("t1", "2", "x = 1")
    assert a is not b and a is not c


def test_changed_source_under_the_same_version_is_recompiled() -> None:
    engine = RulesEngine()
    engine.compile("t1", "1", "x = 1")
    ev = engine.evaluate("t1", "1", "queue = 'B'", dict(SAMPLE))
    assert ev.variables["queue"] == "B"


def test_cache_is_bounded_least_recently_used() -> None:
    engine = RulesEngine(cache_size=3)
    for v in ("1", "2", "3"):
        engine.compile("t", v, f"x = {v}")
    engine.compile("t", "1", "x = 1")  # touch 1
    engine.compile("t", "4", "x = 4")  # evicts 2
    assert engine.cache_len() == 3
    misses = engine.misses
    engine.compile("t", "1", "x = 1")
    assert engine.misses == misses
    engine.compile("t", "2", "x = 2")
    assert engine.misses == misses + 1


def test_rules_with_errors_evaluate_to_an_exception_naming_the_error() -> None:
    engine = RulesEngine()
    ev = engine.evaluate("t", "1", "if True\n    queue = 'x'\n", dict(SAMPLE))
    assert ev.exception is not None and ev.exception.startswith("Rules error on line 1: syntax error")
    assert ev.variables["queue"] == SAMPLE["queue"]
    # and the failure is cached too
    engine.evaluate("t", "1", "if True\n    queue = 'x'\n", dict(SAMPLE))
    assert engine.misses == 1
