"""Every Dispatcher Rules example from the product brief and the original documentation runs as documented."""

from __future__ import annotations

from tests.unit.rules.conftest import run, warnings

BRIEF = """\
if 'This is an emergency' in selections:
    priority = 'Critical'
if priority is 'Critical':            # docs use `is` with literals: treat as ==, and warn
    subject = '**EMERGENCY** ' + subject
if '!' in msg and priority == 'Medium':
    priority = 'High'
if businessName == 'Fabrikam, Inc.':
    exception = 'Ticket submission disabled until payment.'
if sum(1 for c in msg if c.isupper()) / max(len(msg), 1) > 0.75:
    priority = 'Critical'
priority_names = ['Critical', 'High', 'Medium', 'Low']
import textwrap
subject = textwrap.wrap(' '.join(msg.split()), 50)[0]
for domain in ['contoso.com', 'fabrikam.com']:
    if domain in email.lower():
        queue = 'Tier 1 Support'
"""


def test_emergency_selection_makes_the_ticket_critical_and_is_literal_is_treated_as_equals() -> None:
    # Given the emergency checkbox, when the brief's rules run
    ev = run(BRIEF, selections=["This is an emergency"], subject="Printer", msg="Printer broken")
    # Then priority is Critical; `priority is 'Critical'` matched like == (subject is re-wrapped afterwards)
    assert ev.error is None
    assert ev.variables["priority"] == "Critical"
    assert ev.variables["queue"] == "Tier 1 Support"
    assert "priority" in ev.changed and "queue" in ev.changed
    assert ev.exception is None


def test_is_with_a_literal_compares_by_value_and_warns() -> None:
    src = "x = ''.join(['Crit', 'ical'])\nif x is 'Critical':\n    subject = '**EMERGENCY** ' + subject\n"
    ev = run(src, subject="Printer")
    assert ev.variables["subject"] == "**EMERGENCY** Printer"
    assert any("`is` compares identity" in w.message and w.line == 2 for w in ev.warnings)


def test_is_zero_and_priority_arithmetic_from_the_original_docs() -> None:
    src = """\
if 'This is an emergency' in selections:
    priority = 0
if priority is 0:
    subject = '**EMERGENCY** ' + subject
if '!' in msg:
    priority = priority - 1
if priority < 0:
    priority = 0
"""
    ev = run(src, selections=["This is an emergency"], msg="Down!", subject="Server")
    assert ev.variables["priority"] == 0
    assert ev.variables["subject"] == "**EMERGENCY** Server"
    assert [w.line for w in ev.warnings if w.code == "is-literal"] == [3]


def test_exclamation_mark_raises_medium_to_high() -> None:
    ev = run(BRIEF, msg="it is broken!", priority="Medium")
    assert ev.variables["priority"] == "High"


def test_business_name_sets_exception_to_block_the_ticket() -> None:
    ev = run(BRIEF, businessName="Fabrikam, Inc.")
    assert ev.exception == "Ticket submission disabled until payment."
    assert ev.error is None
    assert "exception" in ev.changed


def test_mostly_capitals_message_is_critical() -> None:
    ev = run(BRIEF, msg="EVERYTHING IS DOWN NOW", priority="Low")
    assert ev.variables["priority"] == "Critical"


def test_subject_is_first_50_characters_at_word_boundaries() -> None:
    msg = "The   accounting share is not reachable from the second floor and the scanner fails too"
    ev = run(BRIEF, msg=msg)
    assert ev.variables["subject"] == "The accounting share is not reachable from the"
    assert len(ev.variables["subject"]) <= 50


def test_helper_variables_are_allowed_and_reported_in_test_runs() -> None:
    ev = run(BRIEF, helpers=True)
    assert ev.helpers is not None
    assert ev.helpers["priority_names"] == ["Critical", "High", "Medium", "Low"]
    assert ev.helpers["domain"] == "fabrikam.com"


def test_email_domain_routing_with_a_helper_list() -> None:
    src = """\
domain_list = ['contoso.com', 'fabrikam.com']
for domain_item in domain_list:
    if domain_item in email.lower():
        type = 'Incident'
"""
    assert run(src, email="Bob@Fabrikam.com").variables["type"] == "Incident"
    assert run(src, email="bob@example.org").variables["type"] == "Service Request"


def test_priority_matrix_by_impact_and_urgency() -> None:
    src = """\
impact = 1
urgency = 1
if 'This affects multiple people' in selections:
    impact = 0
if 'I cannot work' in selections:
    urgency = 0
priority_names = ['Critical', 'High', 'Medium', 'Low', 'Very Low']
priority = priority_names[impact + urgency]
"""
    assert run(src, selections=["This affects multiple people", "I cannot work"]).variables["priority"] == "Critical"
    assert run(src, selections=[]).variables["priority"] == "Medium"


def test_subject_length_override_with_textwrap() -> None:
    src = "import textwrap\nsubject = ' '.join(msg.split())\nsubject = textwrap.wrap(subject, 20)[0]\n"
    assert run(src, msg="one two three four five six seven").variables["subject"] == "one two three four"


def test_common_python_a_tenant_would_expect_works() -> None:
    src = """\
import re, datetime, math, string
words = [w.strip(string.punctuation).lower() for w in msg.split()]
counts = {w: words.count(w) for w in set(words)}
top = sorted(counts.items(), key=len)[0]
m = re.search(r'ticket\\s*#?(\\d+)', msg, re.IGNORECASE)
ref = m.group(1) if m else None
when = datetime.datetime(2026, 11, 26, 9, 30)
hours = f"{when:%H:%M} on {when.strftime('%A')}"
subject = f"[{ref}] {subject[:20]}" if ref else subject
a, *rest = msg.split()
nums = [n * 2 for n in range(5) if n % 2 == 0]
parts = '{} and {name}'.format('x', name='y')
priv_append = '\\n'.join(f'{k}={v}' for k, v in sorted(counts.items())[:2])
category = 'Hardware' if any(w in words for w in ('printer', 'scanner')) else 'Other'
worktype = 29684204
total = math.ceil(sum(nums) / 3) + abs(-1) + round(2.5) + int('3') + len(rest)
"""
    ev = run(src, helpers=True, msg="Re Ticket #4521: printer jams")
    assert ev.error is None, ev.error
    assert ev.variables["subject"] == "[4521] The printer jams on "
    assert ev.variables["category"] == "Hardware"
    assert ev.variables["worktype"] == 29684204
    assert ev.helpers is not None
    assert ev.helpers["hours"] == "09:30 on Thursday"
    assert ev.helpers["nums"] == [0, 4, 8]
    assert ev.helpers["parts"] == "x and y"
    assert ev.helpers["a"] == "Re"


def test_brief_example_warns_only_about_is() -> None:
    assert [w.split(": ", 1)[0] for w in warnings(BRIEF)] == ["3"]


def test_every_example_in_the_tenant_reference_runs_cleanly() -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "rules.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) >= 4
    for block in blocks:
        ev = run(block, msg="see ticket #123 now!")
        assert ev.error is None, (block, ev.error)
        assert all(w.code == "is-literal" for w in ev.warnings), ev.warnings
