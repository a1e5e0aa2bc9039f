"""The feed cursor: every event delivered exactly once, whatever the arrival order, paging and poll times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.notifications.cursor import LATE_WINDOW, Cursor, InvalidCursor, next_page

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Ev:
    fid: str
    at: datetime


def _page(items: list[Ev], cursor: Cursor, now: datetime, limit: int = 50) -> tuple[list[Ev], Cursor, bool]:
    page = next_page(items, cursor, feed_id=lambda e: e.fid, at=lambda e: e.at, now=now, limit=limit)
    decoded = Cursor.decode(page.cursor.encode())  # always through the wire form
    assert decoded == page.cursor
    return page.items, decoded, page.more


def test_first_call_returns_history_oldest_first_then_nothing_twice() -> None:
    events = [Ev(f"s.{i}", T0 + timedelta(seconds=i)) for i in range(5)]
    got, cursor, more = _page(list(reversed(events)), Cursor(), T0 + timedelta(minutes=1))
    assert got == events and not more
    again, cursor, _ = _page(events, cursor, T0 + timedelta(minutes=2))
    assert again == []


def test_a_late_write_with_an_earlier_time_is_still_delivered() -> None:
    first = Ev("s.a", T0 + timedelta(seconds=10))
    got, cursor, _ = _page([first], Cursor(), T0 + timedelta(seconds=11))
    assert got == [first]
    late = Ev("s.b", T0 + timedelta(seconds=5))  # recorded before `first`, visible only now
    got, cursor, _ = _page([first, late], cursor, T0 + timedelta(seconds=30))
    assert got == [late]


def test_paging_with_a_small_limit_loses_nothing() -> None:
    events = [Ev(f"s.{i:02d}", T0 + timedelta(seconds=i // 3)) for i in range(20)]  # ties on `at`
    cursor, seen = Cursor(), []
    for _ in range(20):
        got, cursor, more = _page(events, cursor, T0 + timedelta(seconds=5), limit=3)
        seen += got
        if not more:
            break
    assert seen == sorted(events, key=lambda e: (e.at, e.fid))


def test_the_floor_trails_now_so_the_cursor_stays_small() -> None:
    old = [Ev(f"s.{i}", T0 + timedelta(seconds=i)) for i in range(300)]
    _, cursor, _ = _page(old, Cursor(), T0 + LATE_WINDOW + timedelta(hours=1), limit=1000)
    assert cursor.floor == T0 + timedelta(hours=1) and not cursor.seen
    assert len(cursor.encode()) < 100


@pytest.mark.parametrize("bad", ["x", "c1.", "c1.!!!!", "c1." + "A" * 5000, "c2.eyJmIjoxfQ", "c1.eyJmIjotMSwicyI6IiJ9"])
def test_a_foreign_cursor_is_refused(bad: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(bad)


def test_no_cursor_means_from_the_beginning() -> None:
    assert Cursor.decode(None) == Cursor() == Cursor.decode("  ")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 600), st.integers(0, 30)),  # (recorded at second, visible after extra seconds)
        min_size=1,
        max_size=40,
    ),
    st.lists(st.integers(1, 60), min_size=1, max_size=40),  # poll intervals
    st.integers(1, 7),  # page size
)
def test_exactly_once_under_random_arrival_polls_and_page_sizes(
    spec: list[tuple[int, int]], polls: list[int], limit: int
) -> None:
    events = [Ev(f"s.{i}", T0 + timedelta(seconds=at)) for i, (at, _) in enumerate(spec)]
    visible_at = {e.fid: e.at + timedelta(seconds=lag) for e, (_, lag) in zip(events, spec, strict=True)}
    cursor, delivered, now = Cursor(), [], T0
    schedule = polls + [120] * 30  # keep polling until everything is visible and drained
    for step in schedule:
        now += timedelta(seconds=step)
        for _ in range(100):
            visible = [e for e in events if visible_at[e.fid] <= now]
            got, cursor, more = _page(visible, cursor, now, limit)
            delivered += [e.fid for e in got]
            if not more:
                break
    assert sorted(delivered) == sorted(e.fid for e in events)
    assert len(delivered) == len(set(delivered))
