"""What a run of the rules returns: variables, changes, exception (set or automatic), warnings, output."""

from __future__ import annotations

import pytest

from helpdesk.rules import UnknownVariableError, compile_rules, evaluate
from tests.unit.rules.conftest import SAMPLE, run


def test_result_has_every_variable_and_lists_only_real_changes() -> None:
    ev = run("priority = 'Medium'\nqueue = 'Tier 2'\n")
    assert set(ev.variables) == set(SAMPLE)
    assert ev.changed == ["queue"]  # priority was already Medium
    assert ev.exception is None and ev.error is None
    assert ev.duration_ms >= 0


def test_runtime_error_sets_exception_with_the_line_and_no_traceback() -> None:
    # Given rules that fail on line 3
    ev = run("queue = 'Tier 2'\nx = 1\nsubject = subject + x\n")
    # Then the ticket is blocked with a short message naming the line
    assert ev.exception == 'Rules error on line 3: TypeError: can only concatenate str (not "int") to str'
    assert ev.error is not None and ev.error.line == 3
    assert "exception" in ev.changed
    # And changes made before the failure are still reported
    assert ev.variables["queue"] == "Tier 2"


def test_unknown_name_read_before_assignment_names_the_variable() -> None:
    ev = run("if ticket_type == 'x':\n    pass\n")
    assert ev.error is not None and ev.error.line == 1
    assert "name 'ticket_type' is not defined" in ev.error.message
    assert "not a rule variable" in ev.error.message


def test_helper_used_before_it_is_assigned_is_an_error() -> None:
    ev = run("if vip:\n    priority = 'High'\nvip = True\n")
    assert ev.error is not None and "vip" in ev.error.message


def test_exception_set_by_rules_blocks_without_an_error() -> None:
    ev = run("if '!' in msg:\n    exception = 'Please call us instead.'\n", msg="Help!")
    assert ev.exception == "Please call us instead."
    assert ev.error is None


@pytest.mark.parametrize("value", ["''", "None", "False"])
def test_empty_exception_does_not_block(value: str) -> None:
    assert run(f"exception = {value}\n").exception is None


def test_non_text_exception_is_shown_as_text() -> None:
    assert run("exception = 42\n").exception == "42"


def test_read_only_list_mutation_does_not_leak_into_the_result() -> None:
    ev = run("selections.append('extra')\nn = len(selections)\n", helpers=True, selections=["a"])
    assert ev.variables["selections"] == ["a"]
    assert ev.helpers == {"n": 2}


def test_missing_variables_get_defaults() -> None:
    ev = evaluate(compile_rules("x = len(selections)\ny = msg + subject\n"), {}, include_helpers=True)
    assert ev.error is None
    assert ev.helpers == {"x": 0, "y": ""}
    assert ev.variables["worktype"] is None


def test_unknown_input_variables_are_refused() -> None:
    with pytest.raises(UnknownVariableError, match="board"):
        evaluate(compile_rules("pass"), {"board": "x"})


def test_print_output_is_captured_for_test_runs() -> None:
    ev = run("print('queue is', queue)\nfor i in range(3):\n    print(i)\n")
    assert ev.output == ["queue is Client Portal", "0", "1", "2"]


def test_values_that_are_not_json_are_submitted_as_text_with_a_warning() -> None:
    ev = run("import datetime\ncategory = datetime.date(2026, 1, 2)\nissue = {'a', 'b'}\n")
    assert ev.variables["category"] == "2026-01-02"
    assert ev.variables["issue"] == ["a", "b"]
    assert any(w.code == "not-json" and "category" in w.message for w in ev.warnings)


def test_tuples_become_lists_and_numbers_stay_numbers() -> None:
    ev = run("priority = 0\nworktype = 29684204\nissue, subIssue = ('Network', 'VPN')\ncategory = ('a', 1)\n")
    assert ev.variables["priority"] == 0
    assert ev.variables["worktype"] == 29684204
    assert ev.variables["subIssue"] == "VPN"
    assert ev.variables["category"] == ["a", 1]


def test_steps_are_counted() -> None:
    ev = run("for i in range(10):\n    pass\nx = [c for c in 'abc']\n")
    assert 10 <= ev.steps <= 20


def test_augmented_assignment_on_items_and_lists_behaves_like_python() -> None:
    src = "d = {'n': 1}\nd['n'] += 2\nl = [1]\nalias = l\nl += [2]\ns = 'a'\ns *= 3\nn = 2\nn **= 3\n"
    ev = run(src, helpers=True)
    assert ev.helpers == {"d": {"n": 3}, "l": [1, 2], "alias": [1, 2], "s": "aaa", "n": 8}


def test_slices_fstrings_and_percent_formatting() -> None:
    src = "a = msg[:3]\nb = msg[::-1][:2]\nc = f'{priority!r:>10}|{3.14159:.2f}'\nd = '%s-%05d' % ('x', 42)\n"
    ev = run(src, helpers=True, msg="abcdef")
    assert ev.helpers == {"a": "abc", "b": "fe", "c": "  'Medium'|3.14", "d": "x-00042"}


def test_re_facade_supports_the_common_api() -> None:
    src = """\
import re
m = re.match(r'(?P<user>\\w+)@(?P<dom>[\\w.]+)', email)
user = m.group('user')
dom = m.groupdict()['dom']
parts = re.split(r'[.@]', email)
clean = re.sub(r'\\s+', ' ', '  a   b ')
n = re.subn('a', 'b', 'aaa')[1]
pat = re.compile('CONTOSO', re.I)
found = pat.search(email) is not None
all_words = re.findall(r'\\w+', 'one two')
esc = re.escape('a.b')
"""
    ev = run(src, helpers=True, email="dana@contoso.com")
    assert ev.error is None, ev.error
    h = ev.helpers or {}
    assert (h["user"], h["dom"], h["clean"], h["n"], h["found"]) == ("dana", "contoso.com", " a b ", 3, True)
    assert h["parts"] == ["dana", "contoso", "com"]
    assert h["all_words"] == ["one", "two"]
    assert h["esc"] == "a\\.b"
