"""Validation at save time: syntax errors, forbidden constructs and read-only variables with line/column."""

from __future__ import annotations

import pytest

from helpdesk.rules import RulesEngine, RulesSyntaxError, compile_rules, validate
from tests.unit.rules.conftest import errors, warnings


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("email = 'x'", 1),
        ("if True:\n    selections = []", 2),
        ("hostname += 'x'", 1),
        ("for name in ['a']:\n    pass", 1),
        ("import re as ip", 1),
        ("from re import search as mac", 1),
        ("priority, contactName = 1, 2", 1),
        ("x = [(businessName := 'a')]", 1),
        ("queue = 'a'\n\n\nbusinessName = 'Fabrikam'", 4),
    ],
)
def test_read_only_variables_cannot_be_assigned(source: str, line: int) -> None:
    diags = [d for d in validate(source) if d.code == "read-only"]
    assert diags, source
    assert diags[0].line == line
    assert "is read-only and cannot be assigned" in diags[0].message


def test_comprehension_variables_may_reuse_read_only_names() -> None:
    # a comprehension's loop variable is local to it, as in Python 3
    assert errors("x = [email for email in ['a']]") == []


def test_syntax_error_has_line_and_column() -> None:
    diags = validate("if priority == 'High'\n    queue = 'x'\n")
    assert len(diags) == 1
    d = diags[0]
    assert (d.severity, d.code, d.line) == ("error", "syntax", 1)
    assert d.column > 0
    assert "expected ':'" in d.message


def test_every_error_is_reported_with_its_line() -> None:
    src = "def f():\n    pass\nwhile True:\n    pass\nx = ().__class__\nimport os\n"
    assert errors(src) == [
        "1: defining functions (`def`) is not allowed in rules",
        "3: `while` loops are not allowed: use `for` over a list or range()",
        "5: attributes starting with '_' cannot be used (__class__)",
        "6: module 'os' cannot be imported in rules (allowed: datetime, math, re, string, textwrap)",
    ]


def test_compile_refuses_source_with_errors_and_keeps_all_diagnostics() -> None:
    with pytest.raises(RulesSyntaxError) as info:
        compile_rules("email = 1\nx = eval\nlambda: 1\n")
    assert [d.line for d in info.value.diagnostics if d.severity == "error"] == [1, 3]
    assert "line 1" in str(info.value)


def test_warnings_for_likely_mistakes() -> None:
    src = "Priority = 'High'\nif company == 'x':\n    pass\nif ticket_status:\n    pass\nif x is 0:\n    pass\nx = 1\n"
    found = warnings(src)
    assert "2: `company` is not a rule variable and is never assigned (did you mean `businessName`?)" in found
    assert "4: `ticket_status` is not a rule variable and is never assigned (did you mean `ticketStatus`?)" in found
    assert any(w.startswith("6: `is` compares identity") for w in found)
    assert any(
        "`Priority` is not a rule variable, so its value is not submitted (did you mean `priority`?)" in w
        for w in found
    )


def test_clean_rules_have_no_diagnostics() -> None:
    assert validate("if '!' in msg:\n    priority = 'High'\n") == []


def test_limits_on_source_size_and_nesting() -> None:
    assert errors("x = 1\n" * 20000)[0].startswith("0: rules are too long")
    assert any("nested too deeply" in e for e in errors("x = " + "[" * 150 + "]" * 150))
    deep_blocks = "x = 1\n" + "".join("    " * i + "if x:\n" for i in range(120)) + "    " * 120 + "x = 2\n"
    assert "syntax error: too many levels of indentation" in errors(deep_blocks)[0]


def test_errors_only_the_compiler_sees_are_reported() -> None:
    assert errors("x = 1\nbreak\n") == ["2: syntax error: 'break' outside loop"]


def test_python_syntax_warnings_become_rule_warnings() -> None:
    assert warnings("x = [1, 2]\ny = [x [0] (1)]\nz = 1[0]\n") == [
        "3: 'int' object is not subscriptable; perhaps you missed a comma?"
    ]


@pytest.mark.parametrize(
    ("source", "variables", "expected"),
    [
        (
            "if business_name == 'Contoso Ltd.':\n    priority = 'High'\n",
            {"businessName": "Contoso Ltd."},
            ("priority", "High"),
        ),
        ("subject = message[:5]\n", {"msg": "Printer jammed"}, ("subject", "Print")),
        ("message = 'Replaced'\n", {"msg": "old"}, ("msg", "Replaced")),
        ("subissue = 'Printer'\n", {}, ("subIssue", "Printer")),
    ],
)
def test_the_original_products_spellings_are_accepted_with_a_warning(
    source: str, variables: dict[str, str], expected: tuple[str, str]
) -> None:
    engine = RulesEngine()
    ev = engine.evaluate("t", "1", source, variables)
    assert ev.exception is None and ev.variables[expected[0]] == expected[1]
    assert [d.code for d in validate(source)] == ["original-spelling"]


def test_an_original_spelling_used_next_to_the_real_name_is_refused_with_the_right_name() -> None:
    assert errors("message = 'x'\nsubject = msg\n") == [
        "1: `message` is the original product's name for `msg`, but these rules also use `msg`: write `msg` "
        "everywhere (or give your own variable another name)"
    ]
    assert errors("business_name = 'x'\n") == ["1: `businessName` is read-only and cannot be assigned"]
