"""Runtime guards for compiled Dispatcher Rules: the only objects rule code can reach besides its own values.

The compiler (compiler.py) rewrites risky syntax into calls of the functions here:

* ``a.b``            -> ``_ga(a, 'b')``        attribute allow-list per type; size-risky methods come back wrapped
* ``a + b`` etc.     -> ``_add(a, b)``         sequence/int growth checked before the work is done
* ``x[i:j]``         -> ``_slice(x, i, j, k)``  copies are charged to the allocation budget
* ``for`` bodies tick a C-level step counter; every ``CHECK_EVERY`` steps ``_lim()`` checks the step budget and
  the wall clock; comprehension iterables go through ``_it`` (small sized ones charged in one go, others per item)
* f-string fields   -> ``_fv(value, conversion, spec)``; the whole f-string -> ``_chk(...)`` (``_fjoin`` if many)
* ``set()``/``dict()``/``update`` and set methods over iterables insert in chunks (hash-collision flooding)

All limits live in one per-process :data:`METER`, reset by the engine before each evaluation (evaluations in a
process are serialised by the engine's lock; a Lambda execution environment runs one request at a time anyway).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import count
from time import perf_counter
from typing import Any, Final, TypeVar

from helpdesk.domain.rules import MAX_SOURCE_CHARS
from helpdesk.rules.categorize import ai_categorize

_T = TypeVar("_T")

ITEM_UNITS: Final = 8
"""Allocation units charged per list/dict/set item (a reference); one unit per character of a string."""
STR_ITEM_UNITS: Final = 64
"""Allocation units per character when a string is turned into a list of 1-character strings."""
CHECK_EVERY: Final = 128
"""Steps between two checks of the step budget and the wall clock (``_lim``)."""
BULK_CHECK_EVERY: Final = 4096
"""Comprehensions over sized iterables up to this length are charged their length in one step (see ``_it``)."""
BIG_UNITS: Final = 65_536
"""Allocations at least this big also check the wall clock."""
HASH_CHUNK: Final = 512
"""Items per C-level set/dict insertion call between two clock checks (see ``_hashed_insert``)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits for one tenant's rules. The defaults suit the dispatcher's hot path."""

    max_source_chars: int = MAX_SOURCE_CHARS
    max_ast_nodes: int = 50_000
    max_depth: int = 100
    max_steps: int = 200_000
    max_seconds: float = 1.0
    max_string: int = 1_000_000
    max_items: int = 100_000
    max_int_bits: int = 14_000  # ~4,200 digits: still printable (Python refuses str() past 4,300)
    max_alloc: int = 64_000_000
    max_output_lines: int = 200


class RulesLimitError(Exception):
    """A resource limit was hit. The message is shown to the tenant as is."""


class RulesForbiddenError(Exception):
    """Rule code tried to reach something outside the sandbox. The message is shown to the tenant as is."""


class Meter:
    """Per-evaluation counters shared by the guards (reset by :meth:`start`)."""

    __slots__ = (
        "alloc",
        "bulk",
        "bulk_check",
        "deadline",
        "globals",
        "max_alloc",
        "max_int_bits",
        "max_items",
        "max_output_lines",
        "max_seconds",
        "max_steps",
        "max_string",
        "output",
    )

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {}
        self.output: list[str] = []
        self.configure(Limits())
        self.alloc = 0
        self.bulk = 0
        self.bulk_check = BULK_CHECK_EVERY
        self.deadline = 0.0

    def configure(self, limits: Limits) -> None:
        self.max_steps = limits.max_steps
        self.max_seconds = limits.max_seconds
        self.max_string = limits.max_string
        self.max_items = limits.max_items
        self.max_int_bits = limits.max_int_bits
        self.max_alloc = limits.max_alloc
        self.max_output_lines = limits.max_output_lines

    def start(self, g: dict[str, Any]) -> None:
        g["_c"] = count(1).__next__
        g["_L"] = min(CHECK_EVERY, self.max_steps)
        self.globals = g
        self.alloc = 0
        self.bulk = 0
        self.bulk_check = BULK_CHECK_EVERY
        self.output = []
        self.deadline = perf_counter() + self.max_seconds


METER: Final = Meter()


# ---------------------------------------------------------------------------------------------------------- budgets
def _step_limit() -> RulesLimitError:
    return RulesLimitError(f"step limit exceeded: rules may run at most {METER.max_steps:,} loop iterations")


def _time_limit() -> RulesLimitError:
    return RulesLimitError(f"time limit exceeded: rules may run for at most {METER.max_seconds:g} s")


def _lim() -> bool:
    """Called every CHECK_EVERY loop steps: enforce the step budget and the wall clock."""
    m = METER
    g = m.globals
    used = g["_L"]
    if used + m.bulk >= m.max_steps:
        raise _step_limit()
    if perf_counter() > m.deadline:
        raise _time_limit()
    g["_L"] = max(min(used + CHECK_EVERY, m.max_steps - m.bulk), used)
    return True


def _bulk_check() -> None:
    m = METER
    if m.globals["_c"]() + m.bulk > m.max_steps:
        raise _step_limit()
    if perf_counter() > m.deadline:
        raise _time_limit()
    m.bulk_check = m.bulk + BULK_CHECK_EVERY


def _ticking(items: Iterable[Any]) -> Iterator[Any]:
    tick = METER.globals["_c"]
    g = METER.globals
    for item in items:
        if tick() > g["_L"]:
            _lim()
        yield item


_BULK_TYPES: Final = frozenset({str, list, tuple, range, dict, set, frozenset})


def _it(items: Any) -> Any:
    """The iterable of a comprehension clause: small sized ones are charged in one go (fast), others per item."""
    if type(items) in _BULK_TYPES:
        n = len(items)
        if n <= BULK_CHECK_EVERY:
            m = METER
            m.bulk += n
            if m.bulk >= m.bulk_check:
                _bulk_check()
            return items
    return _ticking(items)


def charge(units: int) -> None:
    """Charge ``units`` (characters or items) of new memory to this evaluation's allocation budget.

    Big allocations also check the clock: one loop step that copies megabytes is not a cheap step.
    """
    m = METER
    m.alloc += units
    if m.alloc > m.max_alloc:
        raise RulesLimitError(
            f"memory limit exceeded: rules may build at most about {m.max_alloc // 1_000_000} MB of new text and lists"
        )
    if units >= BIG_UNITS and perf_counter() > m.deadline:
        raise _time_limit()


def _too_long(n: int, what: str = "string") -> RulesLimitError:
    lim = METER.max_string if what == "string" else METER.max_items
    unit = "characters" if what == "string" else "items"
    return RulesLimitError(f"{what} too long: {n:,} {unit} (the limit is {lim:,})")


def check_len(obj: _T) -> _T:
    """Check a freshly built str/list/tuple/dict/set against the size limits and charge it."""
    n = len(obj)  # type: ignore[arg-type]
    if type(obj) is str:
        if n > METER.max_string:
            raise _too_long(n)
    elif n > METER.max_items:
        raise _too_long(n, "list")
    else:
        n *= ITEM_UNITS
    charge(n)
    return obj


def _check_int(v: Any) -> Any:
    if type(v) is int and v.bit_length() > METER.max_int_bits:
        raise RulesLimitError(f"integer too large (more than {METER.max_int_bits:,} bits)")
    return v


def _seq_len(x: Any) -> int:
    return len(x) if isinstance(x, str | list | tuple) else -1


def _repeat_guard(seq: Any, n: Any) -> None:
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        total = len(seq) * n
        if isinstance(seq, str):
            if total > METER.max_string:
                raise _too_long(total)
        elif total > METER.max_items:
            raise _too_long(total, "list")
        else:
            total *= ITEM_UNITS
        charge(total)


# ------------------------------------------------------------------------------------------------------- operators
def _add(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is int or ta is float:
        return _check_int(a + b)
    la = _seq_len(a)
    if la >= 0:
        lb = _seq_len(b)
        if lb >= 0:
            total = la + lb
            if ta is str:
                if total > METER.max_string:
                    raise _too_long(total)
            elif total > METER.max_items:
                raise _too_long(total, "list")
            else:
                total *= ITEM_UNITS
            charge(total)
    return a + b


def _iadd(a: Any, b: Any) -> Any:
    if type(a) is list:
        b = list(b) if not isinstance(b, list | tuple | str) else b
        total = len(a) + len(b)
        if total > METER.max_items:
            raise _too_long(total, "list")
        charge(len(b) * ITEM_UNITS)
        a += b
        return a
    return _add(a, b)


def _mul(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if a.bit_length() + b.bit_length() > METER.max_int_bits:
            raise RulesLimitError(f"integer too large (more than {METER.max_int_bits:,} bits)")
        return a * b
    if isinstance(a, str | list | tuple):
        _repeat_guard(a, b)
    elif isinstance(b, str | list | tuple):
        _repeat_guard(b, a)
    return a * b


def _imul(a: Any, b: Any) -> Any:
    if type(a) is list:
        _repeat_guard(a, b)
        a *= b
        return a
    return _mul(a, b)


def _pow(a: Any, b: Any, mod: Any = None) -> Any:
    big_base = type(a) is int and type(b) is int and b > 0 and mod is None and (a > 1 or a < -1)
    if big_base and b * math.log2(abs(a)) > METER.max_int_bits:
        raise RulesLimitError(f"integer too large: {a} ** {b} has more than {METER.max_int_bits:,} bits")
    if mod is not None:
        return pow(a, b, mod)
    return a**b


def _lshift(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int and a and b > 0 and a.bit_length() + b > METER.max_int_bits:
        raise RulesLimitError(f"integer too large (more than {METER.max_int_bits:,} bits)")
    return a << b


def _check_spec(spec: str) -> None:
    """A format spec may not ask for huge widths or precisions (``'{:999999999}'``)."""
    digits = ""
    for ch in spec:
        if ch.isdigit():
            digits += ch
            if len(digits) > 4:
                raise RulesLimitError(f"format width or precision too large in {spec[:40]!r} (at most 9999)")
        else:
            digits = ""
    if "{" in spec or "}" in spec:
        raise RulesForbiddenError("nested fields in a format spec are not supported in rules")


def _check_percent_format(fmt: str) -> None:
    # '%*d' takes its width from the arguments: refuse it; explicit widths go through _check_spec's digit rule.
    i = fmt.find("%")
    while i >= 0:
        j = i + 1
        while j < len(fmt) and fmt[j] not in "diouxXeEfFgGcrsa%":
            if fmt[j] == "*":
                raise RulesForbiddenError("'*' widths in %-formatting are not supported in rules")
            if fmt[j] == "(":
                close = fmt.find(")", j)
                j = close if close > 0 else j
            j += 1
        _check_spec(fmt[i + 1 : j].split(")")[-1])
        i = fmt.find("%", j + 1)


def _mod(a: Any, b: Any) -> Any:
    if type(a) is str:
        _check_percent_format(a)
        args = b if type(b) is tuple else (b,)
        values = args if type(b) is not dict else tuple(b.values())
        # a mapping may be referenced many times ('%(x)s%(x)s...'): bound by fields x the largest value
        fields = a.count("%")
        sizes = [estimate_len(v) for v in values]
        if type(b) is dict:
            _bound_fields(len(a), fields, max(sizes, default=0))
        else:
            _bound_fields(len(a), 1, sum(sizes))
        return check_len(scrub(a % b))
    return a % b


def _imod(a: Any, b: Any) -> Any:
    return _mod(a, b)


def _ipow(a: Any, b: Any) -> Any:
    return _pow(a, b)


def _ilshift(a: Any, b: Any) -> Any:
    return _lshift(a, b)


AUG_GUARDS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "Add": _iadd,
    "Mult": _imul,
    "Mod": _imod,
    "Pow": _ipow,
    "LShift": _ilshift,
}
_AUG_RAW: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "Sub": operator.isub,
    "Div": operator.itruediv,
    "FloorDiv": operator.ifloordiv,
    "RShift": operator.irshift,
    "BitOr": operator.ior,
    "BitAnd": operator.iand,
    "BitXor": operator.ixor,
}


def _aug_item(obj: Any, key: Any, op: str, value: Any) -> None:
    """``obj[key] <op>= value`` with the same guards as the plain operators."""
    fn = AUG_GUARDS.get(op) or _AUG_RAW[op]
    obj[key] = fn(obj[key], value)


def _unpack(value: Any) -> Any:
    """``a, *rest = value`` copies ``value`` into ``rest``: charge it like any other copy."""
    items = value if type(value) in (list, tuple, str) else list(value)
    if len(items) > METER.max_items:
        raise _too_long(len(items), "list")
    charge(len(items) * ITEM_UNITS)
    return items


def _slice(obj: Any, lo: Any, hi: Any, step: Any) -> Any:
    out = obj[lo:hi:step]
    if type(out) is str:
        charge(len(out))
    elif isinstance(out, list | tuple):
        charge(len(out) * ITEM_UNITS)
    return out


# ------------------------------------------------------------------------------------------------------ to strings
def estimate_len(obj: Any, cap: int | None = None) -> int:
    """Upper-bound-ish size of ``str(obj)`` without building it; raises if it would exceed the string limit."""
    limit = METER.max_string if cap is None else cap
    total = 0
    stack = [obj]
    seen = 0
    while stack:
        x = stack.pop()
        t = type(x)
        seen += 1
        if not seen & 0xFFFF:
            time_check()
        if t is str:
            total += len(x) + 2
        elif t is int:
            total += x.bit_length() // 3 + 2
        elif t in (list, tuple, set, frozenset):
            total += 2
            seen += len(x)
            if seen > limit:
                raise _too_long(seen)
            stack.extend(x)
        elif t is dict:
            total += 2
            seen += 2 * len(x)
            if seen > limit:
                raise _too_long(seen)
            stack.extend(x.keys())
            stack.extend(x.values())
        else:
            total += 40
        if total > limit:
            raise _too_long(total)
    return total


_INTERNAL = re.compile(
    r" at 0x[0-9a-fA-F]+(?=>)|\bhelpdesk\.rules\.(?:\w+\.)*|(?:\b\w+\.<locals>\.)+|\bre2\.(?:_re2\.)?_(?=Regexp\b|Match\b)"
)


def _public(m: re.Match[str]) -> str:
    return "re." if m.group().startswith("re2") else ""


def scrub(text: str) -> str:
    """What rule code sees of a default repr or message: no memory address (``<generator object <genexpr> at
    0x7f..>``: no ASLR hints) and no internal name (module paths, ``f.<locals>.g``, the regex library's types)."""
    if "<" not in text and "helpdesk" not in text and "re2." not in text:
        return text
    text = _INTERNAL.sub(_public, text)
    return text.replace("re.Regexp", "re.Pattern") if "re.Regexp" in text else text


def _bound_fields(template_len: int, fields: int, largest: int) -> None:
    """A formatting result is at most the template plus every field holding the largest value."""
    est = template_len + fields * largest
    if est > METER.max_string:
        raise _too_long(est)


def _fjoin(parts: list[str]) -> str:
    """An f-string with many fields: check the total before joining (each field alone may be near the limit)."""
    total = 0
    for p in parts:
        total += len(p)
    if total > METER.max_string:
        raise _too_long(total)
    charge(total)
    return "".join(parts)


def _str(obj: Any = "") -> str:
    t = type(obj)
    if t is str:
        return obj  # type: ignore[no-any-return]
    if t is int or t is float or t is bool or obj is None:
        return check_len(str(obj))
    estimate_len(obj)
    return check_len(scrub(str(obj)))


def _repr(obj: Any) -> str:
    estimate_len(obj)
    return check_len(scrub(repr(obj)))


def _fv(value: Any, conversion: int, spec: str | None) -> Any:
    """One f-string field: ``f'{value!r:>10}'``."""
    if spec is None and conversion == -1 and type(value) is str:
        return value
    if type(value) is not str:
        estimate_len(value)
    if conversion == 114:
        value = scrub(repr(value))
    elif conversion == 97:
        value = scrub(ascii(value))
    elif conversion == 115:
        value = scrub(str(value))
    if spec:
        _check_spec(spec)
        return scrub(format(value, spec))
    return value if type(value) is str else scrub(format(value))


def _safe_format(template: str) -> Callable[..., str]:
    """``str.format`` without attribute or index lookups in field names (``'{0.__class__}'``)."""
    import string

    def fmt(*args: Any, **kwargs: Any) -> str:
        fields = 0
        for _literal, field, spec, conv in string.Formatter().parse(template):
            if field is None:
                continue
            fields += 1
            if any(ch in field for ch in ".[]"):
                raise RulesForbiddenError(
                    f"format field {{{field}}} is not allowed: only plain names and positions, use an f-string"
                )
            if spec:
                _check_spec(spec)
            if conv not in (None, "r", "s", "a"):
                raise ValueError(f"unknown conversion !{conv}")
        sizes = [estimate_len(v) for v in (*args, *kwargs.values())]
        _bound_fields(len(template), fields, max(sizes, default=0))
        return check_len(scrub(template.format(*args, **kwargs)))

    return fmt


# -------------------------------------------------------------------------------------------- attribute allow-list
Access = Callable[[Any, str], Any] | int | None
"""How an allowed attribute is read: None = plainly; int = plainly, charging len(obj) * int to the memory budget
(methods that return a copy-sized result); a callable = ``how(obj, name)`` returns a checked wrapper."""


def _sized(argpos: int, what: str = "string") -> Callable[[Any, str], Any]:
    """Methods whose numeric argument sets the result size: ljust, center, zfill, ..."""

    def get(obj: Any, name: str) -> Any:
        method = getattr(obj, name)

        def call(*args: Any) -> Any:
            if len(args) > argpos and isinstance(args[argpos], int):
                n = args[argpos] * (len(obj) if what == "tabs" else 1)
                if n > METER.max_string:
                    raise _too_long(n)
            return check_len(method(*args))

        return call

    return get


def _str_replace(obj: str, _name: str) -> Any:
    def replace(old: str, new: str, count: int = -1) -> str:
        if not isinstance(old, str) or not isinstance(new, str):
            raise TypeError("replace() arguments must be strings")
        hits = obj.count(old) if old else len(obj) + 1
        if count >= 0:
            hits = min(hits, count)
        est = len(obj) + hits * (len(new) - len(old))
        if est > METER.max_string:
            raise _too_long(est)
        charge(max(est, 0))
        return obj.replace(old, new, count)

    return replace


def _str_join(obj: str, _name: str) -> Any:
    def join(items: Iterable[Any]) -> str:
        parts = items if isinstance(items, list | tuple) else list(items)
        if len(parts) > METER.max_items:
            raise _too_long(len(parts), "list")
        total = len(obj) * max(len(parts) - 1, 0)
        for p in parts:
            if type(p) is str:
                total += len(p)
            if total > METER.max_string:
                raise _too_long(total)
        charge(total)
        return obj.join(parts)

    return join


def _str_format(obj: str, _name: str) -> Any:
    return _safe_format(obj)


def _list_extend(obj: list[Any], _name: str) -> Any:
    def extend(items: Iterable[Any]) -> None:
        _iadd(obj, items)

    return extend


def time_check() -> None:
    if perf_counter() > METER.deadline:
        raise _time_limit()


def _items_of(items: Any) -> Any:
    """A list/tuple of the items of ``items`` (bounded: generators tick, sized inputs are checked)."""
    if type(items) is list or type(items) is tuple:
        return items
    out = list(items)
    if len(out) > METER.max_items:
        raise _too_long(len(out), "list")
    return out


def _hashed_insert(update: Callable[[Any], Any], items: Any) -> None:
    """Insert into a set/dict in chunks with a clock check between them.

    Hash-colliding keys (e.g. multiples of 2**61 - 1) make every insertion scan all earlier ones: one C call over a
    long list could run for minutes where no Python-level check can interrupt it. Chunks keep each call short.
    """
    n = len(items)
    if n <= HASH_CHUNK:
        update(items)
        return
    for start in range(0, n, HASH_CHUNK):
        update(items[start : start + HASH_CHUNK])
        time_check()


def _set(items: Any = ()) -> set[Any]:
    out: set[Any] = set()
    _hashed_insert(out.update, _items_of(items))
    return check_len(out)


def _dict(arg: Any = None, /, **kwargs: Any) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    if arg is not None:
        _hashed_insert(out.update, list(arg.items()) if type(arg) is dict else _items_of(arg))
    out.update(kwargs)
    return check_len(out)


def _as_set(items: Any) -> Any:
    return items if type(items) is set or type(items) is frozenset else _set(items)


def _set_method(obj: Any, name: str) -> Any:
    """Set methods that take iterables: turn each argument into a set first (chunked, see _hashed_insert)."""
    method = getattr(obj, name)
    grows = name in ("union", "update", "symmetric_difference", "symmetric_difference_update")

    def call(*others: Any) -> Any:
        sets = [_as_set(o) for o in others]
        if grows:
            total = len(obj) + sum(len(o) for o in sets)
            if total > METER.max_items:
                raise _too_long(total, "list")
        if name == "update":
            for other in sets:
                _hashed_insert(obj.update, list(other))
            return None
        result = method(*sets)
        if type(result) is set or type(result) is frozenset:
            charge(len(result) * ITEM_UNITS)
        return result

    return call


def _dict_update(obj: dict[Any, Any], _name: str) -> Any:
    def update(arg: Any = None, /, **kwargs: Any) -> None:
        if arg is not None:
            items = list(arg.items()) if type(arg) is dict else _items_of(arg)
            if len(obj) + len(items) > METER.max_items:
                raise _too_long(len(obj) + len(items), "list")
            _hashed_insert(obj.update, items)
        obj.update(kwargs)

    return update


_STR_PLAIN = [
    "count",
    "endswith",
    "find",
    "index",
    "isalnum",
    "isalpha",
    "isascii",
    "isdecimal",
    "isdigit",
    "isidentifier",
    "islower",
    "isnumeric",
    "isprintable",
    "isspace",
    "istitle",
    "isupper",
    "rfind",
    "rindex",
    "startswith",
]
_STR_ALLOC = [
    "capitalize",
    "casefold",
    "lower",
    "lstrip",
    "partition",
    "removeprefix",
    "removesuffix",
    "rpartition",
    "rstrip",
    "strip",
    "swapcase",
    "title",
    "upper",
]
_STR_SPLIT = ["split", "rsplit", "splitlines"]

STR_ATTRS: Final[dict[str, Access]] = {
    **dict.fromkeys(_STR_PLAIN),
    **dict.fromkeys(_STR_ALLOC, 1),
    **dict.fromkeys(_STR_SPLIT, 16),
    "ljust": _sized(0),
    "rjust": _sized(0),
    "center": _sized(0),
    "zfill": _sized(0),
    "expandtabs": _sized(0, "tabs"),
    "replace": _str_replace,
    "join": _str_join,
    "format": _str_format,
}
_LIST_ATTRS: dict[str, Access] = {
    **dict.fromkeys(["append", "insert", "remove", "pop", "clear", "index", "count", "sort", "reverse"]),
    "copy": ITEM_UNITS,
    "extend": _list_extend,
}
_DICT_ATTRS: dict[str, Access] = {
    **dict.fromkeys(["keys", "values", "items", "get", "pop", "popitem", "setdefault", "clear"]),
    "copy": ITEM_UNITS,
    "update": _dict_update,
}
_SET_ITERABLE_METHODS: Final = (
    "issubset",
    "issuperset",
    "isdisjoint",
    "union",
    "intersection",
    "difference",
    "symmetric_difference",
    "update",
    "intersection_update",
    "difference_update",
    "symmetric_difference_update",
)
_SET_ATTRS: dict[str, Access] = {
    **dict.fromkeys(["add", "discard", "remove", "pop", "clear"]),
    "copy": ITEM_UNITS,
    **dict.fromkeys(_SET_ITERABLE_METHODS, _set_method),
}
_INT_ATTRS: dict[str, Access] = dict.fromkeys(
    ["bit_length", "real", "imag", "numerator", "denominator", "conjugate", "is_integer"]
)
_FLOAT_ATTRS: dict[str, Access] = dict.fromkeys(["is_integer", "real", "imag", "conjugate", "as_integer_ratio"])

TYPE_ATTRS: Final[dict[type, dict[str, Access]]] = {
    str: STR_ATTRS,
    list: _LIST_ATTRS,
    tuple: dict.fromkeys(["count", "index"]),
    dict: _DICT_ATTRS,
    set: _SET_ATTRS,
    frozenset: {
        k: v
        for k, v in _SET_ATTRS.items()
        if k
        in (
            "copy",
            "union",
            "intersection",
            "difference",
            "symmetric_difference",
            "issubset",
            "issuperset",
            "isdisjoint",
        )
    },
    int: _INT_ATTRS,
    bool: _INT_ATTRS,
    float: _FLOAT_ATTRS,
    range: dict.fromkeys(["start", "stop", "step", "count", "index"]),
    type({}.keys()): {},
    type({}.items()): {},
}
"""Attribute allow-list keyed by the exact type of the object. Modules register their own types (modules.py)."""

CLASS_ATTRS: Final[dict[Any, dict[str, Access]]] = {}
"""Attribute allow-list for class objects that modules expose (``datetime.datetime.now``)."""

_MISSING: Final = object()

RAW_SAFE_ATTRS: Final = frozenset(
    [
        *_STR_PLAIN,
        "append",
        "insert",
        "get",
        "keys",
        "values",
        "items",
        "add",
        "discard",
    ]
)
"""Attribute names the compiler leaves as plain ``obj.name`` (no guard call: hot-path speed).

Each name, on every type rule code can reach, is either absent or an allowed method that neither allocates more
than one item nor exposes anything (tests/unit/rules/test_guards.py checks this over the reachable types).
"""


class Module:
    """A module facade: only the listed members exist."""

    __slots__ = ("members", "name")

    def __init__(self, name: str, members: dict[str, Any]) -> None:
        self.name = name
        self.members = members
        for member, fn in members.items():
            public_name(fn, member)

    def __repr__(self) -> str:
        return f"<module {self.name!r}>"


def _ga(obj: Any, name: str) -> Any:
    """Guarded ``obj.name``."""
    table = TYPE_ATTRS.get(type(obj))
    if table is not None:
        how = table.get(name, _MISSING)
        if how is None:
            return getattr(obj, name)
        if type(how) is int:  # the method builds a copy-sized result: charge it here (no extra call)
            m = METER
            units = len(obj) * how
            if units >= BIG_UNITS or m.alloc + units > m.max_alloc:
                charge(units)
            else:
                m.alloc += units
            return getattr(obj, name)
        if how is not _MISSING:
            return how(obj, name)  # type: ignore[operator]
    elif type(obj) is Module:
        try:
            return obj.members[name]
        except KeyError:
            raise AttributeError(f"module '{obj.name}' has no attribute '{name}' available in rules") from None
    elif isinstance(obj, type):
        cls_table = CLASS_ATTRS.get(obj)
        if cls_table is not None:
            how = cls_table.get(name, _MISSING)
            if how is None:
                return getattr(obj, name)
            if how is not _MISSING:
                return how(obj, name)  # type: ignore[operator]
    kind = type(obj).__name__ if not isinstance(obj, type) else f"class {obj.__name__}"
    raise AttributeError(f"'{kind}' object has no attribute '{name}' (or it is not available in rules)")


# ------------------------------------------------------------------------------------------------------- builtins
def _range(*args: int) -> range:
    r = range(*args)
    if len(r) > METER.max_items:
        raise RulesLimitError(f"range too long: {len(r):,} items (the limit is {METER.max_items:,})")
    return r


def _materialize(factory: Callable[[Any], Any]) -> Callable[..., Any]:
    def build(*args: Any, **kwargs: Any) -> Any:
        if args and hasattr(args[0], "__len__") and len(args[0]) > METER.max_items:
            raise _too_long(len(args[0]), "list")
        if args and type(args[0]) is str:
            charge(len(args[0]) * STR_ITEM_UNITS)  # one str object per character (non-Latin-1 ones are new)
        return check_len(factory(*args, **kwargs))

    build.__name__ = getattr(factory, "__name__", "build")
    return build


def _sorted(iterable: Iterable[Any], *, key: Any = None, reverse: bool = False) -> list[Any]:
    if type(iterable) is str:
        charge(len(iterable) * STR_ITEM_UNITS)
    return check_len(sorted(iterable, key=key, reverse=reverse))


def _sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    # With a numeric start, the C sum only ever adds numbers (a list or str item raises TypeError), so the only
    # growth to check is the size of an int result.
    if type(start) is not int and type(start) is not float and type(start) is not bool:
        raise TypeError("sum() adds numbers only in rules (use ''.join(...) for strings, or + for lists)")
    return _check_int(sum(iterable, start))


def _int(x: Any = 0, base: int | None = None) -> int:
    return _check_int(int(x) if base is None else int(x, base))  # type: ignore[no-any-return]


def _round(x: Any, ndigits: int | None = None) -> Any:
    if ndigits is None:
        return round(x)
    if type(ndigits) is int:
        # round(5, -10**9) computes 10**(10**9) in C; past 5,000 digits every allowed number rounds the same way
        ndigits = max(-5000, min(ndigits, 5000))
    return round(x, ndigits)


def _print(*args: Any, sep: Any = " ", end: Any = "") -> None:
    m = METER
    if len(m.output) >= m.max_output_lines:
        return
    sep_text, end_text = _str(sep)[:100], _str(end)[:100]
    line = ""
    for i, arg in enumerate(args):
        line += (sep_text if i else "") + _str(arg)[:2000]
        if len(line) >= 2000:
            break
    m.output.append((line + end_text)[:2000])


def _divmod(a: Any, b: Any) -> Any:
    return divmod(a, b)


def _chr(i: int) -> str:
    return chr(i)


SAFE_BUILTINS: Final[dict[str, Any]] = {
    "len": len,
    "sum": _sum,
    "min": min,
    "max": max,
    "any": any,
    "all": all,
    "abs": abs,
    "round": _round,
    "int": _int,
    "float": float,
    "str": _str,
    "repr": _repr,
    "bool": bool,
    "list": _materialize(list),
    "tuple": _materialize(tuple),
    "dict": _dict,
    "set": _set,
    "sorted": _sorted,
    "reversed": reversed,
    "range": _range,
    "enumerate": enumerate,
    "zip": zip,
    "map": map,
    "filter": filter,
    "divmod": _divmod,
    "pow": _pow,
    "chr": _chr,
    "ord": ord,
    "print": _print,
    "ai_categorize": ai_categorize,
    "True": True,
    "False": False,
    "None": None,
}
"""The builtins rule code sees (``__builtins__`` of the exec namespace)."""

GUARDS: Final[dict[str, Any]] = {
    "_lim": _lim,
    "_it": _it,
    "_ga": _ga,
    "_add": _add,
    "_mul": _mul,
    "_pow": _pow,
    "_mod": _mod,
    "_lshift": _lshift,
    "_aug_item": _aug_item,
    "_slice": _slice,
    "_fv": _fv,
    "_chk": check_len,
    "_setd": _set,
    "_fjoin": _fjoin,
    "_unpack": _unpack,
    "_iadd": _iadd,
    "_imul": _imul,
    "_imod": _imod,
    "_ipow": _ipow,
    "_ilshift": _ilshift,
}
"""Guard functions bound into every rules namespace under names rule code cannot spell (leading underscore)."""


def public_name(fn: Any, name: str) -> None:
    """Give a function rule code can reach the name rule code knows it by (reprs and TypeErrors show it)."""
    if hasattr(fn, "__code__"):
        fn.__name__ = fn.__qualname__ = name


for _name, _fn in SAFE_BUILTINS.items():
    public_name(_fn, _name)
