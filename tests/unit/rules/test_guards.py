"""Properties of the guard layer that the compiler relies on."""

from __future__ import annotations

import datetime
import types

import re2

from helpdesk.rules import compile_rules, evaluate
from helpdesk.rules.modules import MODULES, RegexError
from helpdesk.rules.runtime import CLASS_ATTRS, RAW_SAFE_ATTRS, SAFE_BUILTINS, TYPE_ATTRS, Module
from tests.unit.rules.conftest import SAMPLE, run

_MISSING = object()


def _reachable_types() -> set[type]:
    gen = (x for x in [])
    samples: list[object] = [
        gen,
        {}.keys(),
        {}.values(),
        {}.items(),
        map(str, []),
        filter(None, []),
        zip(),
        enumerate([]),
        reversed([]),
        iter(""),
        iter([]),
        len,
        "".join,
        None,
        Module("m", {}),
        RegexError("x"),
        re2.compile("a"),
        re2.compile("a").search("a"),
        datetime.date.today().isocalendar(),
        *SAFE_BUILTINS.values(),
    ]
    for module in MODULES.values():
        samples.extend(module.members.values())
    found = {type(s) for s in samples} | set(TYPE_ATTRS)
    gen.close()
    return found


def test_raw_attribute_names_are_harmless_on_every_reachable_type() -> None:
    # Given every type rule code can get hold of
    for kind in _reachable_types():
        for name in RAW_SAFE_ATTRS:
            if not hasattr(kind, name):
                continue
            # Then a raw `obj.name` returns only what the guarded lookup would return unwrapped
            table = TYPE_ATTRS.get(kind, {})
            assert table.get(name, _MISSING) is None, f"{kind.__name__}.{name} would bypass its guard"


def test_raw_attribute_names_are_harmless_on_exposed_classes() -> None:
    for cls in [*CLASS_ATTRS, *(v for m in MODULES.values() for v in m.members.values() if isinstance(v, type))]:
        for name in RAW_SAFE_ATTRS:
            if hasattr(cls, name):
                assert CLASS_ATTRS.get(cls, {}).get(name, _MISSING) is None, f"{cls.__name__}.{name}"


def test_module_facades_cannot_be_changed_by_one_tenant_for_the_next() -> None:
    # Given rules that try to reach the shared facade's members
    ev = run("import re\nm = re.members\n")
    assert ev.error is not None
    # And the facade still works for the next evaluation
    assert run("import re\nx = re.search('a', 'cat') is not None\n", helpers=True).helpers == {"x": True}
    assert isinstance(MODULES["re"], Module)


def test_evaluations_do_not_share_state() -> None:
    compiled = compile_rules("seen = leftover if 'leftover' in selections else 'fresh'\nleftover = 1\n")
    first = evaluate(compiled, dict(SAMPLE), include_helpers=True)
    second = evaluate(compiled, dict(SAMPLE), include_helpers=True)
    assert first.helpers == second.helpers == {"seen": "fresh", "leftover": 1}


def test_default_selections_list_is_not_shared_between_evaluations() -> None:
    compiled = compile_rules("selections.append('x')\nn = len(selections)\n")
    assert evaluate(compiled, {}, include_helpers=True).helpers == {"n": 1}
    assert evaluate(compiled, {}, include_helpers=True).helpers == {"n": 1}


def test_builtins_are_wrapped_functions_not_types() -> None:
    # str/list/dict are functions here, so `str.format`-style class attribute lookups find nothing
    for name in ("str", "list", "dict", "set", "tuple", "int"):
        assert not isinstance(SAFE_BUILTINS[name], type)
    assert isinstance(SAFE_BUILTINS["len"], types.BuiltinFunctionType)
