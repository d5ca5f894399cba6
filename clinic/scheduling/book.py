"""Who and what is busy when: the occupancy of practitioners, devices and rooms by local day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.scheduling.timeutil import local_date
from clinic.scheduling.types import Occupancy

# (resource kind 'p' / 'd' / 'r', id) -> [(start, busy_until, appointment_id)]
DayBook = dict[tuple[str, int], list[tuple[datetime, datetime, int]]]
Loader = Callable[[date, date], Iterable[Occupancy]]
# Several [first, last) ranges in one go: every occupancy touching any of them.
RangesLoader = Callable[[Sequence[tuple[date, date]]], Iterable[Occupancy]]


class ResourceBook:
    """Occupancies indexed by the local days they touch.

    Given a `loader`, days are filled on first use, `chunk_days` at a time, so that the cost
    follows the days a question looks at, not every appointment the clinic has. The loader
    gets [first, last) local dates and must return every occupancy touching them. A question
    that knows its days beforehand (the sessions of a booking, weeks apart) `preload`s them:
    with a `ranges_loader`, one load for all of them instead of one per day.
    """

    def __init__(
        self,
        tz: ZoneInfo,
        occupancies: Iterable[Occupancy] = (),
        *,
        loader: Loader | None = None,
        chunk_days: int = 7,
        ranges_loader: RangesLoader | None = None,
    ) -> None:
        self._tz = tz
        self._loader = loader
        self._ranges_loader = ranges_loader
        self._chunk = max(1, chunk_days)
        self._days: dict[date, DayBook] = defaultdict(lambda: defaultdict(list))
        self._loaded: set[date] = set()
        self._seen: set[int] = set()
        self.loads = 0
        # Values computed from this book's days (a day's free starts for a procedure), kept as
        # long as the book: a book's days never change once loaded, so neither do these.
        self.derived: dict[object, object] = {}
        self._add(occupancies)

    def _add(self, occupancies: Iterable[Occupancy]) -> None:
        for occ in occupancies:
            if occ.appointment_id in self._seen:
                continue
            self._seen.add(occ.appointment_id)
            entry = (occ.start, occ.busy_until, occ.appointment_id)
            keys = [("p", occ.practitioner_id), ("r", occ.room_id)]
            if occ.device_id is not None:
                keys.append(("d", occ.device_id))
            day = local_date(occ.start, self._tz)
            last = local_date(occ.busy_until - timedelta(microseconds=1), self._tz)
            while day <= last:
                book = self._days[day]
                for key in keys:
                    book[key].append(entry)
                day += timedelta(days=1)

    def _mark_loaded(self, first: date, last: date) -> None:
        d = first
        while d < last:
            self._loaded.add(d)
            d += timedelta(days=1)

    def _chunk_end(self, day: date) -> date:
        """The end of the chunk loaded from `day`: `chunk_days` on, or the first day already
        loaded (a search that steps back would otherwise read its days again)."""
        last = day + timedelta(days=1)
        while last < day + timedelta(days=self._chunk) and last not in self._loaded:
            last += timedelta(days=1)
        return last

    def day(self, day: date) -> DayBook:
        """The occupancies touching a local day, loading its chunk if needed."""
        if self._loader is not None and day not in self._loaded:
            last = self._chunk_end(day)
            self._add(self._loader(day, last))
            self.loads += 1
            self._mark_loaded(day, last)
        return self._days.get(day, {})

    def preload(self, days: Iterable[date]) -> None:
        """Load, in one call of the `ranges_loader`, the chunks that `day` would load for
        these days one by one (in date order); without one, or for a single chunk, `day`'s
        loader as usual."""
        if self._loader is None:
            return
        ranges: list[tuple[date, date]] = []
        for day in sorted(set(days)):
            if day not in self._loaded and not (ranges and day < ranges[-1][1]):
                ranges.append((day, self._chunk_end(day)))
        if len(ranges) < 2 or self._ranges_loader is None:
            for first, _ in ranges:
                self.day(first)
            return
        self._add(self._ranges_loader(ranges))
        self.loads += 1
        for first, last in ranges:
            self._mark_loaded(first, last)

    def busy(
        self, kind: str, resource_id: int, day: date, ignore: frozenset[int] = frozenset()
    ) -> list[tuple[datetime, datetime]]:
        return [(s, u) for s, u, a in self.day(day).get((kind, resource_id), ()) if a not in ignore]
