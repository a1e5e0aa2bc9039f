"""Known sandbox escape and resource exhaustion techniques: every one is blocked with a clear message.

Sources: published advisories and write-ups for RestrictedPython (format-string escapes, GHSA-xjw2-6jm9-rf67),
asteval (``__reduce__``/procedure attribute escapes, lmfit/asteval#86, GHSA-vp47-9734-prjw), simpleeval (generator
``gi_frame.f_globals`` escape, danthedeckie/simpleeval#138; ``operator`` module functions) and the classic Python
jail toolbox (``__subclasses__`` walks, ``__builtins__``, ``__globals__``, exception ``__traceback__`` frames).

"Blocked" means: rejected when saved (validate reports an error), or stopped at run time with ``error`` set and
``exception`` holding a short message without a traceback or memory address. Either way nothing leaks.
"""

from __future__ import annotations

import time

import pytest

from helpdesk.rules import Limits, compile_rules, evaluate, validate
from tests.unit.rules.conftest import SAMPLE

FAST = Limits(max_seconds=0.3, max_alloc=16_000_000)

ESCAPES: dict[str, str] = {
    # -- the object graph: dunder walks to object.__subclasses__()
    "subclasses-walk": "x = ().__class__.__bases__[0].__subclasses__()",
    "mro-walk": "x = ''.__class__.__mro__[1].__subclasses__()",
    "base-walk-in-comprehension": "x = [c for c in ().__class__.__base__.__subclasses__()]",
    "function-globals": "x = sum.__globals__",
    "builtin-self": "x = len.__self__",
    "bound-method-self": "x = [].append.__self__",
    "print-reduce-asteval-86": "red = print.__reduce__()",
    "reduce-ex": "x = msg.__reduce_ex__(2)",
    "variable-class": "x = exception.__class__",
    "module-dict": "import re\nx = re.__dict__",
    "module-loader": "import math\nx = math.__loader__",
    "dunder-name-builtins": "x = __builtins__",
    "dunder-name-import": "x = __import__('os')",
    "getattr-string": "x = getattr((), '__class__')",
    "private-guard-name": "x = _ga(1, '__class__')",
    "private-step-budget": "_L = 10**12",
    "private-import-alias": "import re as _r",
    "private-from-import": "from re import compile as _c",
    "private-attribute-re2-internals": "import re\nx = re.compile('a')._regexp",
    "private-keyword": "x = dict(__class__=1)",
    "nfkc-normalised-dunder": "x = ().__\U0001d41c\U0001d425ass__",  # math-bold 'cl' normalises to __class__
    "nfkc-normalised-read-only": "\uff45mail = 'x'",  # fullwidth e: the parser normalises it to `email`
    # -- forbidden builtins
    "eval": "x = eval('1+1')",
    "exec": "exec('import os')",
    "compile": "x = compile('1', 'x', 'exec')",
    "open": "x = open('/etc/passwd').read()",
    "type": "x = type(1)",
    "vars": "x = vars()",
    "globals": "x = globals()",
    "locals": "x = locals()",
    "dir": "x = dir()",
    "breakpoint": "breakpoint()",
    "help": "help()",
    "input": "x = input()",
    "object": "x = object()",
    "super": "x = super()",
    "memoryview": "x = memoryview(b'x')",
    # -- forbidden imports
    "import-os": "import os",
    "import-sys": "import sys",
    "import-subprocess": "import subprocess",
    "import-importlib": "import importlib",
    "import-operator-simpleeval": "import operator\nx = operator.attrgetter('__class__')(1)",
    "import-builtins": "import builtins",
    "from-os-import": "from os import system",
    "relative-import": "from . import x",
    "dotted-import": "import os.path",
    "star-import": "from re import *",
    "hidden-module-member": "from textwrap import TextWrapper",
    "string-formatter": "import string\nx = string.Formatter().get_field('0.__class__', [1], {})",
    "string-template": "import string\nx = string.Template('$a')",
    # -- forbidden statements
    "lambda": "f = lambda: 0",
    "def": "def f():\n    pass",
    "class": "class A:\n    pass",
    "while": "while True:\n    pass",
    "try-traceback-frames": "try:\n    1/0\nexcept Exception as e:\n    f = e.__traceback__.tb_frame",
    "with": "with open('x') as f:\n    pass",
    "global": "global msg",
    "del": "del selections",
    "async-def": "async def f():\n    pass",
    "raise": "raise SystemExit",
    "attribute-assignment": "msg.upper = 1",
    "match": "match msg:\n    case _:\n        pass",
    "bytes-literal": "x = b'abc'",
    # -- format strings (RestrictedPython GHSA-xjw2-6jm9-rf67 family)
    "format-class": "x = '{0.__class__}'.format(1)",
    "format-subclasses": "x = '{0.__class__.__bases__[0].__subclasses__}'.format('a')",
    "format-kw-globals": "x = '{x.__init__.__globals__}'.format(x=1)",
    "format-index-builtins": "x = '{0[__builtins__]}'.format({})",
    "format-nested-spec": "x = '{0:{1.__class__}}'.format(1, 2)",
    "format-map": "x = '{a.__class__}'.format_map({'a': 1})",
    "format-via-variable": "t = '{0.__cl' + 'ass__}'\nx = t.format(1)",
    "fstring-dunder": "x = f'{msg.__class__}'",
    # -- generator and frame objects (simpleeval #138)
    "generator-frame": "g = (x for x in [1])\nf = g.gi_frame",
    "generator-frame-globals": "g = (x for x in [1])\nb = g.gi_frame.f_globals",
    "generator-code": "g = (x for x in [1])\nc = g.gi_code",
    "generator-send": "g = (x for x in [1])\ng.send(None)",
    # -- objects the sandbox does hand out
    "wrapper-function-attrs": "x = str.mro()",
    "wrapper-function-lower": "x = str.lower('X')",
    "module-facade-internals": "import re\nx = re.members",
    "regexp-options": "import re\nx = re.compile('a').options",
    "match-regs": "import re\nm = re.search('a', 'a')\nx = m.regs",
    "match-expand": "import re\nm = re.search('(a)', 'a')\nx = m.expand('\\\\1' * 10)",
    "class-mro": "import datetime\nx = datetime.datetime.mro()",
    "class-subclasses": "import datetime\nx = datetime.date.__subclasses__()",
    "timezone-fromutc": "import datetime\nx = datetime.timezone.utc.fromutc",
    "strptime-not-exposed": "import datetime\nx = datetime.datetime.strptime('1', '%d')",
    "exception-object-attrs": "import re\ne = re.error('x')\na = e.args",
    "dict-view-mapping": "x = {'a': 1}.keys().mapping",
    "map-object-reduce": "x = map(str, [1])\ny = x.__reduce__()",
    "range-iterator": "x = iter(range(3))",
}

EXHAUSTION: dict[str, str] = {
    "huge-string-repeat": "x = 'a' * 10**10",
    "huge-list-repeat": "x = [1] * 10**9",
    "power-tower": "x = 9 ** 9 ** 9",
    "big-power": "x = 10 ** 100000",
    "pow-builtin": "x = pow(9, 9**9)",
    "left-shift": "x = 1 << 10**9",
    "int-squaring-loop": "x = 3\nfor i in range(100):\n    x = x * x",
    "int-from-long-string": "x = int('9' * 5000)",
    "huge-range": "for i in range(10**9):\n    pass",
    "list-of-huge-range": "x = list(range(10**6))",
    "nested-loops-step-budget": "for i in range(100000):\n    for j in range(100000):\n        pass",
    "nested-comprehension-steps": "x = [i for i in range(100000) for j in range(100000)]",
    "nested-generator-steps": "x = sum(1 for i in range(100000) for j in range(100000))",
    "string-doubling": "s = 'a'\nfor i in range(64):\n    s = s + s",
    "string-doubling-augmented": "s = 'a'\nfor i in range(64):\n    s += s",
    "list-doubling-extend": "l = [1]\nfor i in range(64):\n    l.extend(l)",
    "list-doubling-augmented": "l = [1]\nfor i in range(64):\n    l += l",
    "dict-item-augmented": "d = {'a': 'x'}\nfor i in range(64):\n    d['a'] += d['a']",
    "list-concat": "l = [0] * 100000\nl = l + l",
    "format-width": "x = '{:999999999}'.format(1)",
    "fstring-width": "x = f'{1:999999999}'",
    "fstring-dynamic-width": "w = 999999999\nx = f'{1:{w}}'",
    "percent-width": "x = '%999999999d' % 1",
    "percent-star-width": "x = '%*d' % (999999999, 1)",
    "ljust": "x = 'a'.ljust(10**10)",
    "center": "x = 'a'.center(10**10)",
    "zfill": "x = 'a'.zfill(10**10)",
    "expandtabs": "x = ('\\t' * 100000).expandtabs(1000)",
    "replace-blowup": "x = ('a' * 1000).replace('a', 'b' * 100000)",
    "replace-empty": "x = ('a' * 100000).replace('', 'bbbbbbbbbbbbbbbbbbbbbb')",
    "join-blowup": "x = '-'.join(['x' * 1000000] * 10)",
    "str-of-shared-list": "x = str(['x' * 100000] * 100)",
    "fstring-of-shared-list": "x = f'{[\"x\" * 100000] * 100}'",
    "percent-of-shared-list": "x = '%s' % (['x' * 100000] * 100,)",
    "re-sub-blowup": "import re\nx = re.sub('', 'x' * 1000, 'a' * 100000)",
    "re-sub-group-refs": "import re\nx = re.sub('(a+)', '\\\\1' * 100, 'a' * 100000)",
    "re-backreference-unsupported": "import re\nx = re.search(r'(a)\\1', 'aa')",
    "re-lookahead-unsupported": "import re\nx = re.search(r'a(?=b)', 'ab')",
    "re-huge-pattern": "import re\nx = re.compile('(((a{100}){100}){100})')",
    "textwrap-indent": "import textwrap\nx = textwrap.indent('\\n' * 100000, 'x' * 100)",
    "textwrap-big-indent": "import textwrap\nx = textwrap.wrap('a ' * 1000, 1, initial_indent='x' * 1000)",
    "sum-of-lists-quadratic": "x = sum([[1]] * 10000, [])",
    "sorted-then-repeat": "x = sorted(range(100000)) * 100",
    "upper-copies-memory": "s = 'x' * 1000000\nl = []\nfor i in range(1000):\n    l.append(s.upper())",
    "slice-copies-memory": "l = [0] * 100000\nk = []\nfor i in range(100000):\n    k.append(l[:])",
    "split-copies-memory": "s = 'a ' * 500000\nk = []\nfor i in range(1000):\n    k.append(s.split())",
    "wall-clock": "s = 'x' * 1000000\nfor i in range(100000):\n    n = s.count('y')",
    "deep-data-nesting": "a = []\nfor i in range(100000):\n    a = [a]\ns = str(a)",
    "deep-source-nesting": "x = " + "-" * 5000 + "1",
    "deep-parentheses": "x = " + "(" * 300 + "1" + ")" * 300,
    "huge-source": "x = 1\n" * 60000,
    "math-factorial-not-exposed": "import math\nx = math.factorial(10**6)",
    "star-display-blowup": "l = [0] * 100000\nx = [*l, *l]",
    "set-hash-collisions": "big = [i * (2**61 - 1) for i in range(50000)]\ns = set(big)",
    "dict-hash-collisions": "big = [i * (2**61 - 1) for i in range(50000)]\nd = dict(zip(big, big))",
    "set-update-hash-collisions": "big = [i * (2**61 - 1) for i in range(50000)]\ns = set()\ns.update(big)",
    "issuperset-hash-collisions": "big = [i * (2**61 - 1) for i in range(50000)]\nok = {0}.issuperset(big)",
    "dict-update-hash-collisions": "big = [(i * (2**61 - 1), 0) for i in range(50000)]\nd = {}\nd.update(big)",
    "set-display-hash-collisions": "big = [i * (2**61 - 1) for i in range(50000)]\ns = {*big}",
    "round-huge-negative-digits": "x = [round(5, -10**9) for i in range(2000)]\ny = 1 / 0",
    "print-huge-separator": "print(*(['x'] * 100000), sep='y' * 1000000)\ny = 1 / 0",
    "many-distinct-regexes": "import re\nfor i in range(5000):\n    re.compile('(a{100}){10}' + str(i))",
    "format-repeated-field": "b = 'x' * 900000\nt = '{0}' * 1000\nx = t.format(b)",
    "percent-mapping-repeated": "b = 'x' * 900000\nt = '%(a)s' * 1000\nx = t % {'a': b}",
    "percent-tuple-sum": "b = 'x' * 900000\nx = ('%s' * 3) % (b, b, b)",
    "fstring-many-fields": "b = 'x' * 900000\nx = f'{b}{b}{b}{b}{b}{b}{b}{b}{b}{b}{b}{b}'",
    "repeated-str-of-big-list": "l = ['x'] * 100000\nfor i in range(100000):\n    s = str(l)",
    "slice-assignment-growth": "l = [0] * 100000\nk = []\nfor i in range(1000):\n    k[0:0] = l",
    "star-unpack-copies": "l = [0] * 100000\nk = []\nfor i in range(100000):\n    a, *b = l\n    k.append(b)",
    "star-loop-target-copies": "l = [[0] * 100000] * 100000\nk = []\nfor a, *b in l:\n    k.append(b)",
    "finditer-empty-matches": "import re\nx = list(re.finditer('', 'a' * 1000000))",
    "findall-empty-matches": "import re\nk = []\nfor i in range(100):\n    k.append(re.findall('', 'a' * 1000000))",
    "findall-many-groups": "import re\nx = re.findall('()' * 50, 'a' * 1000000)",
    "list-of-wide-chars": "s = '\u4e00' * 100000\nk = []\nfor i in range(1000):\n    k.append(list(s))",
    "textwrap-width-one": "import textwrap\nk = []\nfor i in range(1000):\n    k.append(textwrap.wrap('a ' * 100000, 1))",
    "dict-unpack-blowup": "d = {i: i for i in range(60000)}\ne = {**d, **{-i: i for i in range(60000)}}",
}


def _blocked(source: str, limits: Limits = FAST) -> str:
    """How the sandbox refused ``source`` (fails the test if it ran to the end)."""
    errs = [d for d in validate(source, limits) if d.severity == "error"]
    if errs:
        return f"rejected: {errs[0].message}"
    ev = evaluate(compile_rules(source, limits), dict(SAMPLE), limits=limits, include_helpers=True)
    assert ev.error is not None, f"not blocked; helpers={str(ev.helpers)[:300]}"
    assert ev.exception is not None
    assert ev.exception.startswith("Rules error")
    assert "Traceback" not in ev.exception
    assert " at 0x" not in ev.exception
    assert "helpdesk" not in ev.exception and ".py" not in ev.exception
    return f"stopped: {ev.error.message}"


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_escape_technique_is_blocked(source: str) -> None:
    assert _blocked(source)


@pytest.mark.parametrize("source", EXHAUSTION.values(), ids=EXHAUSTION.keys())
def test_exhaustion_technique_is_stopped_quickly(source: str) -> None:
    started = time.perf_counter()
    outcome = _blocked(source)
    assert time.perf_counter() - started < 3.0, outcome


def test_the_corpus_has_at_least_forty_techniques() -> None:
    assert len(ESCAPES) + len(EXHAUSTION) >= 40
    assert len(ESCAPES) >= 40


def test_default_reprs_do_not_show_memory_addresses() -> None:
    src = "g = (c for c in 'ab')\nprint(g)\nt = str(g) + repr(g) + f'{g}' + '{}'.format(g) + '%s' % (g,)\n"
    ev = evaluate(compile_rules(src), dict(SAMPLE), include_helpers=True)
    assert ev.error is None
    assert ev.output == ["<generator object <genexpr>>"]
    assert ev.helpers is not None and " at 0x" not in str(ev.helpers)


def test_format_escape_message_is_plain() -> None:
    assert "only plain names and positions" in _blocked("x = '{0.__class__}'.format(1)")


def test_catastrophic_backtracking_pattern_runs_in_linear_time() -> None:
    # (a+)+$ is exponential in backtracking engines; RE2 answers at once
    src = "import re\nm = re.search('(a+)+$', 'a' * 50000 + '!')\nhit = m is not None\n"
    started = time.perf_counter()
    ev = evaluate(compile_rules(src), dict(SAMPLE), include_helpers=True)
    assert ev.error is None
    assert ev.helpers == {"m": None, "hit": False}
    assert time.perf_counter() - started < 0.5
