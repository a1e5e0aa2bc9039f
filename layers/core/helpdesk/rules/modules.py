"""The modules rule code may import: facades exposing only safe, size-checked functions.

``re`` is backed by RE2 (linear-time matching: no catastrophic backtracking); patterns needing backreferences or
lookaround are rejected with RE2's message.
"""

from __future__ import annotations

import datetime as _dt
import math as _math
import string as _string
import textwrap as _textwrap
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, Final

import re2

from helpdesk.rules.runtime import (
    CLASS_ATTRS,
    METER,
    TYPE_ATTRS,
    Access,
    Module,
    RulesForbiddenError,
    RulesLimitError,
    charge,
    check_len,
    time_check,
)

# ----------------------------------------------------------------------------------------------------------- re
IGNORECASE: Final = 2
MULTILINE: Final = 8
DOTALL: Final = 16
_FLAG_PREFIX: Final = ((IGNORECASE, "i"), (MULTILINE, "m"), (DOTALL, "s"))
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = 2 << 20  # per pattern (program + DFA cache); with 64 cached patterns at most ~128 MB


class RegexError(ValueError):
    """A pattern RE2 cannot compile (syntax, backreferences, lookaround, too large)."""


@lru_cache(maxsize=64)
def _compile_cached(pattern: str, flags: int) -> Any:
    if not isinstance(pattern, str):
        raise TypeError("regular expression patterns must be strings")
    if len(pattern) > 10_000:
        raise RulesLimitError("regular expression too long (at most 10,000 characters)")
    if flags & ~(IGNORECASE | MULTILINE | DOTALL):
        raise ValueError("only re.IGNORECASE, re.MULTILINE and re.DOTALL are supported")
    inline = "".join(letter for bit, letter in _FLAG_PREFIX if flags & bit)
    try:
        return re2.compile(f"(?{inline}){pattern}" if inline else pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RegexError(f"invalid regular expression {pattern[:60]!r}: {detail}") from None


def _compile(pattern: Any, flags: int = 0) -> Any:
    info = _compile_cached.cache_info()
    regexp = _compile_cached(pattern, flags)
    if _compile_cached.cache_info().misses != info.misses:
        charge(max(regexp.programsize, 1) * 64)  # a fresh compile costs memory: charge it (many distinct patterns)
    return regexp


def _pattern(p: Any, flags: int = 0) -> Any:
    if type(p) is _REGEXP_TYPE:
        if flags:
            raise ValueError("cannot add flags to a compiled pattern")
        return p
    return _compile(p, flags)


def _text(s: Any) -> str:
    if not isinstance(s, str):
        raise TypeError(f"expected a string, got {type(s).__name__}")
    return s


def _safe_sub(regexp: Any, repl: Any, text: str, count: int = 0) -> tuple[str, int]:
    if not isinstance(repl, str):
        raise TypeError("the replacement must be a string in rules")
    text = _text(text)
    refs = repl.count("\\")
    limit = METER.max_string
    total = len(text)
    hits = 0

    def expand(m: Any) -> str:
        nonlocal total, hits
        start, end = m.span()
        total += len(repl) + refs * (end - start) - (end - start)
        if total > limit:
            raise RulesLimitError(f"re.sub result too long (the limit is {limit:,} characters)")
        hits += 1
        return m.expand(repl) if refs else repl

    out = regexp.sub(expand, text, count)
    charge(len(out))
    return out, hits


def re_search(pattern: Any, string: Any, flags: int = 0) -> Any:
    return _pattern(pattern, flags).search(_text(string))


def re_match(pattern: Any, string: Any, flags: int = 0) -> Any:
    return _pattern(pattern, flags).match(_text(string))


def re_fullmatch(pattern: Any, string: Any, flags: int = 0) -> Any:
    return _pattern(pattern, flags).fullmatch(_text(string))


_MATCH_UNITS: Final = 128
"""Memory charged per match object (finditer) and per character of findall/split input (results may hold
one small string per character)."""


def _result_units(regexp: Any, text: str) -> int:
    """Upper bound on what findall/split may build: up to one match per character, each a small string or a
    tuple of one per group."""
    return (len(text) + 1) * (16 + 16 * regexp.groups)  # type: ignore[no-any-return]


def re_findall(pattern: Any, string: Any, flags: int = 0) -> list[Any]:
    s = _text(string)
    regexp = _pattern(pattern, flags)
    charge(_result_units(regexp, s))
    return regexp.findall(s)  # type: ignore[no-any-return]


def _charged_matches(regexp: Any, matches: Iterator[Any]) -> Iterator[Any]:
    units = _MATCH_UNITS + 16 * regexp.groups
    for n, m in enumerate(matches, 1):
        charge(units)
        if not n & 255:
            time_check()
        yield m


def re_finditer(pattern: Any, string: Any, flags: int = 0) -> Iterator[Any]:
    regexp = _pattern(pattern, flags)
    return _charged_matches(regexp, regexp.finditer(_text(string)))


def re_split(pattern: Any, string: Any, maxsplit: int = 0, flags: int = 0) -> list[Any]:
    s = _text(string)
    regexp = _pattern(pattern, flags)
    charge(_result_units(regexp, s))
    return regexp.split(s, maxsplit)  # type: ignore[no-any-return]


def re_sub(pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0) -> str:
    return _safe_sub(_pattern(pattern, flags), repl, string, count)[0]


def re_subn(pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0) -> tuple[str, int]:
    return _safe_sub(_pattern(pattern, flags), repl, string, count)


def re_escape(pattern: Any) -> str:
    return check_len(re2.escape(_text(pattern)))  # type: ignore[no-any-return]


def re_compile(pattern: Any, flags: int = 0) -> Any:
    return _pattern(pattern, flags)


_REGEXP_TYPE: Final = type(re2.compile("x", _OPTIONS))
_MATCH_TYPE: Final = type(re2.compile("x", _OPTIONS).search("x"))


def _rx_findall(r: Any, s: Any, *args: Any) -> Any:
    charge(_result_units(r, _text(s)))
    return r.findall(s, *args)


def _rx_finditer(r: Any, s: Any, *args: Any) -> Any:
    return _charged_matches(r, r.finditer(_text(s), *args))


def _rx_split(r: Any, s: Any, maxsplit: int = 0) -> Any:
    charge(_result_units(r, _text(s)))
    return r.split(s, maxsplit)


def _rx_sub(r: Any, repl: Any, s: Any, count: int = 0) -> str:
    return _safe_sub(r, repl, s, count)[0]


def _rx_subn(r: Any, repl: Any, s: Any, count: int = 0) -> tuple[str, int]:
    return _safe_sub(r, repl, s, count)


def _regexp_method(fn: Callable[..., Any]) -> Callable[[Any, str], Any]:
    def get(regexp: Any, _name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            return fn(regexp, *args, **kwargs)

        return call

    return get


TYPE_ATTRS[_REGEXP_TYPE] = {
    **dict.fromkeys(["search", "match", "fullmatch", "pattern", "groups", "groupindex"]),
    "finditer": _regexp_method(_rx_finditer),
    "findall": _regexp_method(_rx_findall),
    "split": _regexp_method(_rx_split),
    "sub": _regexp_method(_rx_sub),
    "subn": _regexp_method(_rx_subn),
}
TYPE_ATTRS[_MATCH_TYPE] = dict.fromkeys(
    ["group", "groups", "groupdict", "start", "end", "span", "string", "pos", "endpos", "lastindex", "lastgroup", "re"]
)

RE: Final = Module(
    "re",
    {
        "search": re_search,
        "match": re_match,
        "fullmatch": re_fullmatch,
        "findall": re_findall,
        "finditer": re_finditer,
        "split": re_split,
        "sub": re_sub,
        "subn": re_subn,
        "escape": re_escape,
        "compile": re_compile,
        "IGNORECASE": IGNORECASE,
        "I": IGNORECASE,
        "MULTILINE": MULTILINE,
        "M": MULTILINE,
        "DOTALL": DOTALL,
        "S": DOTALL,
        "error": RegexError,
    },
)

# ----------------------------------------------------------------------------------------------------- textwrap
_WRAP_KWARGS: Final = frozenset(
    [
        "width",
        "initial_indent",
        "subsequent_indent",
        "expand_tabs",
        "replace_whitespace",
        "fix_sentence_endings",
        "break_long_words",
        "drop_whitespace",
        "break_on_hyphens",
        "tabsize",
        "max_lines",
        "placeholder",
    ]
)
_MAX_WRAP_TEXT: Final = 200_000


def _wrap_args(raw: Any, width: Any, kwargs: dict[str, Any]) -> str:
    text = _text(raw)
    if len(text) > _MAX_WRAP_TEXT:
        raise RulesLimitError(f"textwrap input too long (at most {_MAX_WRAP_TEXT:,} characters)")
    bad = set(kwargs) - _WRAP_KWARGS
    if bad:
        raise TypeError(f"unexpected keyword argument {sorted(bad)[0]!r}")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"invalid width {width!r} (must be > 0)")
    for key in ("initial_indent", "subsequent_indent", "placeholder"):
        if len(_text(kwargs.get(key, ""))) > 100:
            raise RulesLimitError(f"textwrap {key} too long (at most 100 characters)")
    if not 0 <= kwargs.get("tabsize", 8) <= 16:
        raise ValueError("tabsize must be between 0 and 16")
    charge(len(text) * 32)  # wrap() may return one short line per character
    return text


def tw_wrap(text: Any, width: int = 70, **kwargs: Any) -> list[str]:
    return _textwrap.wrap(_wrap_args(text, width, kwargs), width, **kwargs)


def tw_fill(text: Any, width: int = 70, **kwargs: Any) -> str:
    return _textwrap.fill(_wrap_args(text, width, kwargs), width, **kwargs)


def tw_shorten(text: Any, width: int, **kwargs: Any) -> str:
    return _textwrap.shorten(_wrap_args(text, width, kwargs), width, **kwargs)


def tw_dedent(text: Any) -> str:
    return check_len(_textwrap.dedent(_text(text)))


def tw_indent(text: Any, prefix: Any) -> str:
    text, prefix = _text(text), _text(prefix)
    est = len(text) + (text.count("\n") + 1) * len(prefix)
    if est > METER.max_string:
        raise RulesLimitError(f"textwrap.indent result too long (the limit is {METER.max_string:,} characters)")
    return check_len(_textwrap.indent(text, prefix))


TEXTWRAP: Final = Module(
    "textwrap", {"wrap": tw_wrap, "fill": tw_fill, "shorten": tw_shorten, "dedent": tw_dedent, "indent": tw_indent}
)

# --------------------------------------------------------------------------------------------------------- math
_MATH_NAMES: Final = [
    "ceil",
    "floor",
    "trunc",
    "fabs",
    "sqrt",
    "isqrt",
    "exp",
    "log",
    "log10",
    "log2",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "hypot",
    "degrees",
    "radians",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "copysign",
    "fmod",
    "modf",
    "fsum",
    "gcd",
    "pi",
    "e",
    "tau",
    "inf",
    "nan",
]
MATH: Final = Module("math", {n: getattr(_math, n) for n in _MATH_NAMES})

# ------------------------------------------------------------------------------------------------------- string
_STRING_NAMES: Final = [
    "ascii_letters",
    "ascii_lowercase",
    "ascii_uppercase",
    "digits",
    "hexdigits",
    "octdigits",
    "punctuation",
    "printable",
    "whitespace",
]


def capwords(s: Any, sep: Any = None) -> str:
    return check_len(_string.capwords(_text(s), sep))  # type: ignore[no-any-return]


STRING: Final = Module("string", {**{n: getattr(_string, n) for n in _STRING_NAMES}, "capwords": capwords})

# ----------------------------------------------------------------------------------------------------- datetime
_DATE_ATTRS = [
    "year",
    "month",
    "day",
    "weekday",
    "isoweekday",
    "isoformat",
    "isocalendar",
    "toordinal",
    "ctime",
    "replace",
    "strftime",
    "min",
    "max",
    "resolution",
    "today",
    "fromisoformat",
    "fromordinal",
    "fromtimestamp",
]
_TIME_ATTRS = [
    "hour",
    "minute",
    "second",
    "microsecond",
    "tzinfo",
    "fold",
    "isoformat",
    "strftime",
    "replace",
    "utcoffset",
    "tzname",
    "dst",
]
_DATETIME_ATTRS = [
    *_DATE_ATTRS,
    *_TIME_ATTRS,
    *["date", "time", "timetz", "timestamp", "astimezone", "now", "utcnow", "combine"],
]
_TIMEDELTA_ATTRS = ["days", "seconds", "microseconds", "total_seconds", "min", "max", "resolution"]
_TIMEZONE_ATTRS = ["utc", "utcoffset", "tzname", "dst", "min", "max"]


def _strftime(obj: Any, name: str) -> Any:
    method = getattr(obj, name)

    def strftime(fmt: Any) -> str:
        fmt = _text(fmt)
        if len(fmt) > 1000:
            raise RulesLimitError("strftime format too long (at most 1,000 characters)")
        return method(fmt)  # type: ignore[no-any-return]

    return strftime


def _register_datetime() -> None:
    for cls, names in (
        (_dt.date, _DATE_ATTRS),
        (_dt.datetime, _DATETIME_ATTRS),
        (_dt.time, _TIME_ATTRS),
        (_dt.timedelta, _TIMEDELTA_ATTRS),
        (_dt.timezone, _TIMEZONE_ATTRS),
    ):
        table: dict[str, Access] = dict.fromkeys(names)
        if "strftime" in table:
            table["strftime"] = _strftime
        TYPE_ATTRS[cls] = table
        CLASS_ATTRS[cls] = table


_register_datetime()
TYPE_ATTRS[type(_dt.date(2000, 1, 1).isocalendar())] = dict.fromkeys(["year", "week", "weekday", "count", "index"])
DATETIME: Final = Module(
    "datetime",
    {
        "date": _dt.date,
        "datetime": _dt.datetime,
        "time": _dt.time,
        "timedelta": _dt.timedelta,
        "timezone": _dt.timezone,
        "MINYEAR": _dt.MINYEAR,
        "MAXYEAR": _dt.MAXYEAR,
    },
)

MODULES: Final[dict[str, Module]] = {
    "re": RE,
    "textwrap": TEXTWRAP,
    "math": MATH,
    "string": STRING,
    "datetime": DATETIME,
}
"""Importable modules by name."""


def import_module(name: str) -> Module:
    try:
        return MODULES[name]
    except KeyError:
        raise RulesForbiddenError(f"module {name!r} cannot be imported in rules") from None


def import_from(module: str, name: str) -> Any:
    try:
        return import_module(module).members[name]
    except KeyError:
        raise RulesForbiddenError(f"module {module!r} has no {name!r} available in rules") from None


def clear_caches() -> None:
    """Forget compiled patterns (a new evaluation process starts without another tenant's regex cache)."""
    _compile_cached.cache_clear()
