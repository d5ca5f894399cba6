"""The resource book's loading: a question that knows its days loads them in one go."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from clinic.scheduling import ResourceBook
from clinic.scheduling.types import Occupancy
from tests.clock import BERLIN

# One session at 10:00 each day from 1 Dec, in practitioner 1's diary.
WEEKS = [
    Occupancy(
        i + 1,
        1,
        None,
        1,
        datetime(2026, 12, 1, 9, tzinfo=UTC) + timedelta(days=i),
        datetime(2026, 12, 1, 10, tzinfo=UTC) + timedelta(days=i),
    )
    for i in range(70)
]


def _touching(first: date, last: date) -> list[Occupancy]:
    return [o for o in WEEKS if first <= o.start.astimezone(BERLIN).date() < last]


def test_preloading_far_apart_days_loads_them_in_one_call_and_as_day_would() -> None:
    calls: list[Sequence[tuple[date, date]]] = []

    def ranges(asked: Sequence[tuple[date, date]]) -> list[Occupancy]:
        calls.append(list(asked))
        return [o for first, last in asked for o in _touching(first, last)]

    days = [date(2026, 12, 1) + timedelta(days=14 * i) for i in range(4)]
    preloaded = ResourceBook(BERLIN, loader=_touching, chunk_days=3, ranges_loader=ranges)
    preloaded.preload([*reversed(days), days[0] + timedelta(days=1)])  # in any order
    assert calls == [[(d, d + timedelta(days=3)) for d in days]]
    assert preloaded.loads == 1

    lazy = ResourceBook(BERLIN, loader=_touching, chunk_days=3)
    for d in days:
        for offset in range(3):  # the chunk each load brought in
            day = d + timedelta(days=offset)
            assert preloaded.day(day) == lazy.day(day)
            assert preloaded.busy("p", 1, day) == lazy.busy("p", 1, day) != []
    assert preloaded.loads == 1 and lazy.loads == 4  # nothing loaded twice


def test_preloading_one_chunk_or_loaded_days_uses_the_day_loader() -> None:
    def ranges(asked: Sequence[tuple[date, date]]) -> list[Occupancy]:
        raise AssertionError("one chunk needs no ranges loader")

    book = ResourceBook(BERLIN, loader=_touching, chunk_days=3, ranges_loader=ranges)
    book.preload([date(2026, 12, 1), date(2026, 12, 3)])
    assert book.loads == 1
    book.preload([date(2026, 12, 2)])
    assert book.loads == 1


def test_a_search_stepping_back_reads_only_the_days_not_yet_read() -> None:
    asked: list[tuple[date, date]] = []

    def load(first: date, last: date) -> list[Occupancy]:
        asked.append((first, last))
        return _touching(first, last)

    book = ResourceBook(BERLIN, loader=load, chunk_days=3)
    book.day(date(2026, 12, 10))  # reads 10-12 Dec
    assert book.busy("p", 1, date(2026, 12, 9)) != []  # one day back: 9 Dec alone
    book.day(date(2026, 12, 7))  # two more back: 7 and 8 Dec, not 9 again
    assert asked == [
        (date(2026, 12, 10), date(2026, 12, 13)),
        (date(2026, 12, 9), date(2026, 12, 10)),
        (date(2026, 12, 7), date(2026, 12, 9)),
    ]
    assert book.busy("p", 1, date(2026, 12, 8)) == [(WEEKS[7].start, WEEKS[7].busy_until)]
