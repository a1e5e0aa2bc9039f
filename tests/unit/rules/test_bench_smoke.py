"""The rules benchmark's workloads run on every engine and agree (keeps `python -m bench rules` from rotting)."""

from __future__ import annotations

import warnings

import pytest

from bench import rules_bench
from bench.__main__ import available


@pytest.mark.parametrize("workload", list(rules_bench.WORKLOADS))
def test_every_engine_gives_the_same_key_variables(workload: str) -> None:
    source, variables = rules_bench.WORKLOADS[workload]
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        for name, factory in rules_bench.ENGINES.items():
            run, compile_once = factory(source, variables)
            compile_once()
            out = run()
            results[name] = {k: out.get(k) for k in rules_bench.KEY_VARIABLES}
    reference = results.pop("exec (no sandbox, floor)")
    for name, got in results.items():
        assert got == reference, name


def test_bench_main_discovers_the_rules_benchmark() -> None:
    assert "rules" in available()
