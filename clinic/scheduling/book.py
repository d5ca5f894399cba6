"""Who and what is busy when: the occupancy of practitioners, devices and rooms by local day."""

from __future__ import annotations

from collections import OrderedDict
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


class _Day:
    """One local day's occupancies, and what questions have worked out from them."""

    __slots__ = ("book", "ids", "kept", "loaded")

    def __init__(self) -> None:
        self.book: DayBook = {}
        self.ids: set[int] = set()
        self.kept: dict[object, object] = {}
        self.loaded = False


class ResourceBook:
    """Occupancies indexed by the local days they touch.

    Given a `loader`, days are filled on first use, `chunk_days` at a time, so that the cost
    follows the days a question looks at, not every appointment the clinic has. The loader
    gets [first, last) local dates and must return every occupancy touching them. A question
    that knows its days beforehand (the sessions of a booking, weeks apart) `preload`s them:
    with a `ranges_loader`, one load for all of them instead of one per day.

    A day's values worked out from its occupancies (its free starts for a procedure) are kept
    with the day (`kept`) and go with it: `forget` drops days whose occupancy changed, and
    with `max_days` the least recently used days go once the book holds more.
    """

    def __init__(
        self,
        tz: ZoneInfo,
        occupancies: Iterable[Occupancy] = (),
        *,
        loader: Loader | None = None,
        chunk_days: int = 7,
        ranges_loader: RangesLoader | None = None,
        max_days: int | None = None,
    ) -> None:
        self._tz = tz
        self.loader = loader
        self.ranges_loader = ranges_loader
        self._chunk = max(1, chunk_days)
        self._max_days = max_days
        self._days: OrderedDict[date, _Day] = OrderedDict()
        self.loads = 0
        # Given outright, an appointment is where its first occupancy says (a caller may list
        # an appointment's new place before its old one).
        given: dict[int, Occupancy] = {}
        for occ in occupancies:
            given.setdefault(occ.appointment_id, occ)
        self._add(given.values(), None)

    def _entry(self, day: date) -> _Day:
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = _Day()
        return found

    def _add(self, occupancies: Iterable[Occupancy], into: tuple[date, date] | None) -> None:
        """File occupancies under the days they touch (only [first, last) given `into`: a
        day outside it is filled by its own load)."""
        for occ in occupancies:
            entry = (occ.start, occ.busy_until, occ.appointment_id)
            keys = [("p", occ.practitioner_id), ("r", occ.room_id)]
            if occ.device_id is not None:
                keys.append(("d", occ.device_id))
            day = local_date(occ.start, self._tz)
            last = local_date(occ.busy_until - timedelta(microseconds=1), self._tz)
            if into is not None:
                day, last = max(day, into[0]), min(last, into[1] - timedelta(days=1))
            while day <= last:
                held = self._entry(day)
                if occ.appointment_id not in held.ids:
                    held.ids.add(occ.appointment_id)
                    for key in keys:
                        held.book.setdefault(key, []).append(entry)
                day += timedelta(days=1)

    def _load(self, first: date, last: date, occupancies: Iterable[Occupancy]) -> None:
        d = first
        while d < last:
            self._entry(d)
            d += timedelta(days=1)
        self._add(occupancies, (first, last))
        d = first
        while d < last:
            self._days[d].loaded = True
            d += timedelta(days=1)

    def _is_loaded(self, day: date) -> bool:
        found = self._days.get(day)
        return found is not None and found.loaded

    def _chunk_end(self, day: date) -> date:
        """The end of the chunk loaded from `day`: `chunk_days` on, or the first day already
        loaded (a search that steps back would otherwise read its days again)."""
        last = day + timedelta(days=1)
        while last < day + timedelta(days=self._chunk) and not self._is_loaded(last):
            last += timedelta(days=1)
        return last

    def _day(self, day: date) -> _Day:
        if self.loader is not None and not self._is_loaded(day):
            last = self._chunk_end(day)
            self._load(day, last, self.loader(day, last))
            self.loads += 1
            self._trim()
        found = self._entry(day)
        if self._max_days is not None:
            self._days.move_to_end(day)
        return found

    def day(self, day: date) -> DayBook:
        """The occupancies touching a local day, loading its chunk if needed."""
        return self._day(day).book

    def kept(self, day: date) -> dict[object, object]:
        """Values worked out from a day's occupancies, kept as long as the book keeps the day."""
        return self._day(day).kept

    def holds_any(self, day: date, appointment_ids: Iterable[int]) -> bool:
        """Whether any of these appointments holds something on a local day."""
        return not self._day(day).ids.isdisjoint(appointment_ids)

    def preload(self, days: Iterable[date]) -> None:
        """Load, in one call of the `ranges_loader`, the chunks that `day` would load for
        these days one by one (in date order); without one, or for a single chunk, `day`'s
        loader as usual."""
        if self.loader is None:
            return
        ranges: list[tuple[date, date]] = []
        for day in sorted(set(days)):
            if not self._is_loaded(day) and not (ranges and day < ranges[-1][1]):
                ranges.append((day, self._chunk_end(day)))
        if len(ranges) < 2 or self.ranges_loader is None:
            for first, _ in ranges:
                self.day(first)
            return
        found = list(self.ranges_loader(ranges))
        for first, last in ranges:
            self._load(first, last, found)
        self.loads += 1
        self._trim()

    def forget(self, days: Iterable[date]) -> None:
        """Drop these days (their occupancies and what was kept from them): the next question
        about one loads it again."""
        for day in days:
            self._days.pop(day, None)

    def clear_kept(self) -> None:
        """Drop what was kept from every day, keeping the occupancies (a cold question)."""
        for held in self._days.values():
            held.kept.clear()

    def loaded_days(self) -> int:
        return sum(1 for d in self._days.values() if d.loaded)

    def _trim(self) -> None:
        if self._max_days is None:
            return
        while len(self._days) > self._max_days:
            self._days.popitem(last=False)

    def busy(
        self, kind: str, resource_id: int, day: date, ignore: frozenset[int] = frozenset()
    ) -> list[tuple[datetime, datetime]]:
        return [(s, u) for s, u, a in self.day(day).get((kind, resource_id), ()) if a not in ignore]
