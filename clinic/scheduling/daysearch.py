"""The planner's search within one local day: which free slots it tries, and in what order.

`DayResources` (resources.py) says who and what is free at a start; this module orders the
starts and practitioners the way a plan tries them. A plan's first session takes the earliest
free slot; its later sessions keep to the first one's practitioner and time of day when they
can (an anchor), so they try that practitioner at the times nearest the anchor's, then the
other practitioners at those times.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from clinic.scheduling.resources import (
    DayResources,
    Snapshot,
    day_resources,
    qualification_violation,
    wished_hours_violation,
)
from clinic.scheduling.timeutil import local
from clinic.scheduling.types import Preferences, ProcedureRules, Slot, Violation

# A plan's first session as its later sessions see it: (minutes after local midnight,
# practitioner id).
Anchor = tuple[int, int]


def kept_day_search(
    snapshot: Snapshot, procedure: ProcedureRules, day: date, prefs: Preferences
) -> DaySearch:
    """The day as every search with these preferences sees it when nothing is set aside: kept
    with the book's day (and forgotten with it), so plans and re-plans work each order out
    once, across questions while the book is a worker's (services/world/day_memory.py)."""
    kept = snapshot.book.kept(day)
    key = ("day_search", procedure, prefs.time_from, prefs.time_to, prefs.practitioner_id)
    found = kept.get(key)
    if not isinstance(found, DaySearch):
        found = kept[key] = DaySearch(day_resources(snapshot, procedure, day), prefs)
    return found


class DaySearch:
    """A day as plans with the same preferences see it: its free slots in the order a plan
    tries them and, when none is free, why.

    The planner keeps one per day with the book for every plan asking with the same
    preferences, so each order below is worked out once (see `_Search.day_search`).
    """

    __slots__ = (
        "resources",
        "_prefs",
        "_working",
        "_earliest_first",
        "_nothing_free",
        "_nothing_free_known",
        "_starts_by_minutes",
        "_slots_by_anchor",
    )

    def __init__(self, resources: DayResources, prefs: Preferences) -> None:
        self.resources = resources
        self._prefs = prefs
        self._working = resources.working(prefs.practitioner_id)
        # Each worked out on first use: a day searched with this plan's own sessions held
        # (same-day sessions) is asked for its anchored order only.
        self._earliest_first: list[Slot] | None = None
        self._nothing_free: Violation | None = None
        self._nothing_free_known = False
        self._starts_by_minutes: dict[int, list[datetime]] = {}
        self._slots_by_anchor: dict[Anchor, list[Slot]] = {}

    @property
    def nothing_free(self) -> Violation | None:
        """Why no slot of the day is free for these preferences; None if one is."""
        if not self._nothing_free_known:
            self._nothing_free = None if self._any_free() else self.why_none_free()
            self._nothing_free_known = True
        return self._nothing_free

    def _any_free(self) -> bool:
        """Whether `earliest_first` has a slot, without working out the others (a re-plan
        asks the anchored order only)."""
        if self._earliest_first is not None:
            return bool(self._earliest_first)
        starts = self.resources.starts(self._prefs.time_from, self._prefs.time_to)
        return any(
            next(self.resources.slots_at(start, self._working), None) is not None
            for start in starts
        )

    def candidates(self, anchor: Anchor | None) -> list[Slot]:
        """The day's free slots in the order a plan tries them: earliest first without an
        anchor; else the anchor's practitioner at the times nearest the anchor's, then the
        other practitioners at those times."""
        if anchor is None:
            return self.earliest_first()
        return self.anchored(anchor)

    def earliest_first(self) -> list[Slot]:
        """Each start of the wanted time of day in order, with the first free practitioner."""
        if self._earliest_first is None:
            starts = self.resources.starts(self._prefs.time_from, self._prefs.time_to)
            self._earliest_first = self._first_free(starts, self._working)
        return self._earliest_first

    def anchored(self, anchor: Anchor) -> list[Slot]:
        """Free slots nearest the anchor's time of day, the anchor's practitioner's first."""
        found = self._slots_by_anchor.get(anchor)
        if found is None:
            minutes, practitioner_id = anchor
            starts = self.starts_nearest(minutes)
            same = tuple(p for p in self._working if p == practitioner_id)
            others = tuple(p for p in self._working if p != practitioner_id)
            found = self._slots_by_anchor[anchor] = [
                slot
                for group in (same, others)
                if group
                for slot in self._first_free(starts, group)
            ]
        return found

    def starts_nearest(self, minutes: int) -> list[datetime]:
        """The starts of the wanted time of day, nearest first to a local time of day
        (`minutes` after midnight), the earlier first between equals."""
        found = self._starts_by_minutes.get(minutes)
        if found is None:
            tz = self.resources.clinic.tz

            def distance(start: datetime) -> tuple[int, datetime]:
                moment = local(start, tz)
                return abs(moment.hour * 60 + moment.minute - minutes), start

            starts = self.resources.starts(self._prefs.time_from, self._prefs.time_to)
            found = self._starts_by_minutes[minutes] = sorted(starts, key=distance)
        return found

    def _first_free(
        self, starts: Iterable[datetime], practitioner_ids: tuple[int, ...]
    ) -> list[Slot]:
        """At each start in order, the slot with the first of `practitioner_ids` who is free;
        starts where none is free are left out."""
        slots = (next(self.resources.slots_at(start, practitioner_ids), None) for start in starts)
        return [slot for slot in slots if slot is not None]

    def why_none_free(self) -> Violation:
        """The reason to give when no slot of the day is free for these preferences."""
        resources = self.resources
        prefs = self._prefs
        unqualified = qualification_violation(
            tuple(resources.practitioners.values()), resources.procedure, prefs.practitioner_id
        )
        if unqualified is not None:
            return unqualified
        if not resources.opening:
            return Violation("clinic_closed", "The clinic is closed on some of the possible days.")
        if not resources.starts(prefs.time_from, prefs.time_to):
            wished = wished_hours_violation(
                resources.clinic,
                resources.procedure,
                weekdays=frozenset({resources.day.weekday()}),
                time_from=prefs.time_from,
                time_to=prefs.time_to,
            )
            if wished is not None:
                return wished
        if resources.procedure.device_kind and not resources.devices:
            return Violation("device_unavailable", "The clinic has no device for this procedure.")
        return Violation(
            "practitioner_unavailable",
            "No qualified practitioner with a free device and room has time on the possible days.",
        )
