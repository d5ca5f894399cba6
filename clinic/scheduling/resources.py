"""Rules 6 to 8 for one local day: clinic hours, practitioners, devices and rooms.

`DayResources` is built once per day and question and says who and what is free when;
availability, the checker and the planner ask it the same questions, so they cannot disagree.
The order in which the planner tries a day's starts and practitioners is in daysearch.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from clinic.scheduling.book import ResourceBook
from clinic.scheduling.intervals import Blocked, inside_any, intersect, join
from clinic.scheduling.timeutil import at, local, local_date
from clinic.scheduling.types import (
    ClinicRules,
    Equipment,
    Occupancy,
    PractitionerCalendar,
    ProcedureRules,
    Slot,
    Violation,
)
from clinic.scheduling.wording import day_text, moment_text

Ranges = list[tuple[datetime, datetime]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the engine knows about the clinic for a window: plain values and the book."""

    clinic: ClinicRules
    practitioners: tuple[PractitionerCalendar, ...]
    devices: tuple[Equipment, ...]
    rooms: tuple[Equipment, ...]
    book: ResourceBook


def _local_ranges(day: date, hours: Sequence[tuple[time, time]], clinic: ClinicRules) -> Ranges:
    # Touching rows (09-13, 13-18) are one stretch: a session may run across 13:00.
    return join((at(day, a, clinic.tz), at(day, b, clinic.tz)) for a, b in hours)


def _holds(occ: Occupancy, kind: str, resource_id: int) -> bool:
    held_ids = {"p": occ.practitioner_id, "d": occ.device_id, "r": occ.room_id}
    return held_ids[kind] == resource_id


def held_by(slot: Slot, procedure: ProcedureRules) -> Occupancy:
    """What a chosen slot holds: its practitioner, device and room until end + buffer."""
    return Occupancy(
        0,
        slot.practitioner_id,
        slot.device_id,
        slot.room_id,
        slot.start,
        slot.end + procedure.buffer,
    )


def qualification_violation(
    practitioners: Sequence[PractitionerCalendar],
    procedure: ProcedureRules,
    practitioner_id: int | None = None,
    session: int | None = None,
) -> Violation | None:
    """Rule 6's qualification: the chosen practitioner (or, with none chosen, anyone) is
    qualified for the procedure."""
    if practitioner_id is None:
        if any(procedure.qualification in p.qualifications for p in practitioners):
            return None
        return Violation(
            "not_qualified", f"No practitioner is qualified for {procedure.name}.", session
        )
    p = next((p for p in practitioners if p.id == practitioner_id), None)
    if p is not None and procedure.qualification in p.qualifications:
        return None
    who = p.name if p else "That practitioner"
    return Violation("not_qualified", f"{who} is not qualified for {procedure.name}.", session)


WEEKDAY_NAMES = (
    "Mondays",
    "Tuesdays",
    "Wednesdays",
    "Thursdays",
    "Fridays",
    "Saturdays",
    "Sundays",
)


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _or_list(words: Sequence[str]) -> str:
    """ "Mondays, Tuesdays or Fridays"; "no day" for none (never an IndexError)."""
    if not words:
        return "no day"
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def wished_hours_violation(
    clinic: ClinicRules,
    procedure: ProcedureRules,
    *,
    weekdays: frozenset[int] | None = None,
    time_from: time | None = None,
    time_to: time | None = None,
    session: int | None = None,
) -> Violation | None:
    """Rule 8 for a plan's wishes: some wanted weekday has opening hours that hold a whole
    session within the wanted time of day. Holidays aside, this is what a week allows. An
    empty `weekdays` wishes for no day at all (`no_weekday`), which no plan keeps (the API's
    schema refuses it before)."""
    if weekdays is not None and not weekdays:
        return Violation(
            "no_weekday",
            "No weekday was chosen: choose at least one, or leave the weekdays open.",
            session,
        )
    days = sorted(weekdays) if weekdays is not None else list(range(7))
    open_days = [wd for wd in days if clinic.opening.get(wd)]
    if not open_days:
        names = _or_list([WEEKDAY_NAMES[wd] for wd in days])
        return Violation("clinic_closed", f"The clinic is closed on {names}.", session)
    if time_from is None and time_to is None:
        return None
    lo = _minutes(time_from) if time_from is not None else 0
    hi = _minutes(time_to) if time_to is not None else 24 * 60
    need = int(procedure.duration.total_seconds() // 60)
    for wd in open_days:
        # Touching rows (09-13, 13-18) are one stretch, as on a real day.
        stretches: list[list[int]] = []
        for a, b in sorted(clinic.opening[wd]):
            end = _minutes(b) or 24 * 60
            if stretches and _minutes(a) <= stretches[-1][1]:
                stretches[-1][1] = max(stretches[-1][1], end)
            else:
                stretches.append([_minutes(a), end])
        if any(min(b, hi) - max(a, lo) >= need for a, b in stretches):
            return None
    window = (
        f"between {time_from or time(0, 0):%H:%M} and {time_to:%H:%M}"
        if time_to
        else (f"from {time_from:%H:%M} on" if time_from else "")
    )
    on = f" on {_or_list([WEEKDAY_NAMES[wd] for wd in open_days])}" if weekdays is not None else ""
    return Violation(
        "clinic_closed",
        f"The clinic is not open for a whole {procedure.name} session ({need} minutes) "
        f"{window}{on}.",
        session,
    )


class DayResources:
    def __init__(
        self,
        snapshot: Snapshot,
        procedure: ProcedureRules,
        day: date,
        ignore: frozenset[int] = frozenset(),
        held: Sequence[Occupancy] = (),
    ) -> None:
        """`held` are sessions of the same request or plan, not yet in the book."""
        clinic = snapshot.clinic
        self.day = day
        self.clinic = clinic
        self.procedure = procedure
        self.holiday = day in clinic.holidays
        self.opening: Ranges = (
            []
            if self.holiday
            else _local_ranges(day, clinic.opening.get(day.weekday(), ()), clinic)
        )
        span = procedure.duration + procedure.buffer
        book = snapshot.book

        def blocked(kind: str, resource_id: int) -> Blocked:
            # A start t is blocked if [t, t + span) overlaps [s, until): s - span < t < until.
            busy = book.busy(kind, resource_id, day, ignore)
            busy += [(o.start, o.busy_until) for o in held if _holds(o, kind, resource_id)]
            return Blocked((start - span, until) for start, until in busy)

        self.practitioners = {p.id: p for p in snapshot.practitioners}
        self._work_ranges: dict[int, Ranges] = {}
        self._practitioner_blocked: dict[int, Blocked] = {}
        for p in snapshot.practitioners:
            if procedure.qualification in p.qualifications and not p.is_off(day):
                self._work_ranges[p.id] = intersect(
                    _local_ranges(day, p.hours.get(day.weekday(), ()), clinic), self.opening
                )
                self._practitioner_blocked[p.id] = blocked("p", p.id)
        kind = procedure.device_kind
        self.devices = [
            (d, blocked("d", d.id)) for d in snapshot.devices if kind is not None and d.kind == kind
        ]
        self.rooms = [(r, blocked("r", r.id)) for r in snapshot.rooms]
        # Answers kept for the life of this object: the planner asks the same ones again and
        # again (daysearch.py says in which order).
        self._working_ids: dict[int | None, tuple[int, ...]] = {}
        self._starts: dict[tuple[time | None, time | None], list[datetime]] = {}
        self._free_at: dict[datetime, tuple[int | None, int, frozenset[int]] | None] = {}

    # Rule 8
    def clinic_violation(self, start: datetime, session: int | None = None) -> Violation | None:
        end = start + self.procedure.duration
        if self.holiday:
            return Violation(
                "clinic_closed", f"The clinic is closed on {day_text(self.day)} (holiday).", session
            )
        if not inside_any(start, end, self.opening):
            return Violation(
                "clinic_closed",
                f"The clinic is not open for the whole session from {moment_text(local(start, self.clinic.tz))}.",
                session,
            )
        return None

    def on_grid(self, start: datetime) -> bool:
        t = local(start, self.clinic.tz)
        return (
            t.second == 0
            and t.microsecond == 0
            and (t.hour * 60 + t.minute) % self.clinic.slot_minutes == 0
        )

    # Rule 6
    def practitioner_violation(
        self, practitioner_id: int, start: datetime, session: int | None = None
    ) -> Violation | None:
        p = self.practitioners.get(practitioner_id)
        if p is None or self.procedure.qualification not in p.qualifications:
            return qualification_violation(
                tuple(self.practitioners.values()), self.procedure, practitioner_id, session
            )
        if practitioner_id not in self._work_ranges:
            return Violation(
                "practitioner_unavailable", f"{p.name} is off on {day_text(self.day)}.", session
            )
        if not inside_any(
            start, start + self.procedure.duration, self._work_ranges[practitioner_id]
        ):
            return Violation(
                "practitioner_unavailable",
                f"{p.name} does not work at {moment_text(local(start, self.clinic.tz))}.",
                session,
            )
        if self._practitioner_blocked[practitioner_id].blocks(start):
            return Violation(
                "practitioner_unavailable",
                f"{p.name} is in another session at {moment_text(local(start, self.clinic.tz))}.",
                session,
                conflict=True,
            )
        return None

    # Rule 7
    def pick_device(
        self, start: datetime, session: int | None = None
    ) -> tuple[int | None, Violation | None]:
        kind = self.procedure.device_kind
        if kind is None:
            return None, None
        if not self.devices:
            return None, Violation(
                "device_unavailable", f"The clinic has no {kind.replace('_', ' ')} device.", session
            )
        for device, blocked in self.devices:
            if not blocked.blocks(start):
                return device.id, None
        return None, Violation(
            "device_unavailable",
            f"The {self.devices[0][0].name} is in use at {moment_text(local(start, self.clinic.tz))}.",
            session,
            conflict=True,
        )

    def pick_room(
        self, start: datetime, session: int | None = None
    ) -> tuple[int | None, Violation | None]:
        if not self.rooms:
            return None, Violation("room_unavailable", "The clinic has no treatment room.", session)
        for room, blocked in self.rooms:
            if not blocked.blocks(start):
                return room.id, None
        return None, Violation(
            "room_unavailable",
            f"No treatment room is free at {moment_text(local(start, self.clinic.tz))}.",
            session,
            conflict=True,
        )

    def qualified_ids(self) -> list[int]:
        return [
            pid
            for pid, p in self.practitioners.items()
            if self.procedure.qualification in p.qualifications
        ]

    def slot_for(
        self, start: datetime, practitioner_id: int | None, session: int | None = None
    ) -> tuple[Slot | None, list[Violation]]:
        """The slot at `start` (with the given or any qualified practitioner), or why not."""
        if not self.on_grid(start):
            minutes = self.clinic.slot_minutes
            return None, [
                Violation(
                    "not_on_slot_grid", f"Sessions start on the {minutes}-minute grid.", session
                )
            ]
        closed = self.clinic_violation(start, session)
        if closed:
            return None, [closed]
        candidates = [practitioner_id] if practitioner_id is not None else self.qualified_ids()
        if not candidates:
            unqualified = qualification_violation((), self.procedure, None, session)
            assert unqualified is not None
            return None, [unqualified]
        first_problem: Violation | None = None
        chosen = None
        for pid in candidates:
            problem = self.practitioner_violation(pid, start, session)
            if problem is None:
                chosen = pid
                break
            # Prefer telling 'busy' over 'not working' when several practitioners were tried.
            if first_problem is None or (problem.conflict and not first_problem.conflict):
                first_problem = problem
        if chosen is None:
            assert first_problem is not None
            return None, [first_problem]
        problems = []
        device_id, device_problem = self.pick_device(start, session)
        room_id, room_problem = self.pick_room(start, session)
        problems = [v for v in (device_problem, room_problem) if v is not None]
        if problems:
            return None, problems
        assert room_id is not None
        return Slot(start, start + self.procedure.duration, chosen, device_id, room_id), []

    def grid(self) -> list[datetime]:
        """Grid starts of the day that fall within opening hours."""
        if not self.opening:
            return []
        step = self.clinic.slot_minutes
        out = []
        for minute in range(0, 24 * 60, step):
            t = at(self.day, time(minute // 60, minute % 60), self.clinic.tz)
            if local_date(t, self.clinic.tz) != self.day:
                continue
            if any(opens <= t < closes for opens, closes in self.opening):
                out.append(t)
        return out

    def starts(self, time_from: time | None = None, time_to: time | None = None) -> list[datetime]:
        """Grid starts whose session fits opening hours and the wanted time of day (kept: the
        planner asks for a day's starts many times)."""
        key = (time_from, time_to)
        cached = self._starts.get(key)
        if cached is None:
            cached = self._starts[key] = self._compute_starts(time_from, time_to)
        return cached

    def _compute_starts(self, time_from: time | None, time_to: time | None) -> list[datetime]:
        if self.holiday:
            return []
        duration = self.procedure.duration
        tz = self.clinic.tz
        out = []
        for start in self.grid():
            if not inside_any(start, start + duration, self.opening):
                continue
            if time_from is not None or time_to is not None:
                t = local(start, tz).time()
                if time_from is not None and t < time_from:
                    continue
                if time_to is not None and (
                    local(start + duration, tz).time() > time_to
                    or local_date(start + duration, tz) != self.day
                ):
                    continue
            out.append(start)
        return out

    def working(self, practitioner_id: int | None = None) -> tuple[int, ...]:
        """Qualified practitioners working that day (optionally only one; kept per question)."""
        found = self._working_ids.get(practitioner_id)
        if found is None:
            found = self._working_ids[practitioner_id] = tuple(
                p for p in self._work_ranges if practitioner_id is None or p == practitioner_id
            )
        return found

    def free_at(self, start: datetime) -> tuple[int | None, int, frozenset[int]] | None:
        """At a start: the first free device (if needed) and room and the working qualified
        practitioners who are free, or None if nothing can start then (kept per start: the
        planner asks the same day about the same starts again and again)."""
        try:
            return self._free_at[start]
        except KeyError:
            pass
        found = None
        device_id, device_problem = self.pick_device(start)
        room_id, room_problem = self.pick_room(start) if device_problem is None else (None, None)
        if device_problem is None and room_problem is None and room_id is not None:
            end = start + self.procedure.duration
            free_ids = frozenset(
                pid
                for pid, work in self._work_ranges.items()
                if inside_any(start, end, work)
                and not self._practitioner_blocked[pid].blocks(start)
            )
            if free_ids:
                found = (device_id, room_id, free_ids)
        self._free_at[start] = found
        return found

    def slots_at(self, start: datetime, practitioner_ids: Sequence[int]) -> Iterator[Slot]:
        """The free slots at one start, for the given practitioners in their order."""
        free = self.free_at(start)
        if free is None:
            return
        device_id, room_id, free_ids = free
        end = start + self.procedure.duration
        for pid in practitioner_ids:
            if pid in free_ids:
                yield Slot(start, end, pid, device_id, room_id)

    def slots(
        self,
        practitioner_id: int | None = None,
        time_from: time | None = None,
        time_to: time | None = None,
    ) -> list[Slot]:
        """Every free start of the day: for each practitioner, the first free device and room."""
        working_ids = self.working(practitioner_id)
        if not working_ids:
            return []
        return [
            slot
            for start in self.starts(time_from, time_to)
            for slot in self.slots_at(start, working_ids)
        ]


def available_slots(
    *,
    snapshot: Snapshot,
    procedure: ProcedureRules,
    day: date,
    practitioner_id: int | None = None,
    ignore: frozenset[int] = frozenset(),
    time_from: time | None = None,
    time_to: time | None = None,
) -> list[Slot]:
    """The free start times of `procedure` on a local `day`, one slot per practitioner and
    start, each with a free device (if needed) and room, respecting opening hours, holidays,
    working hours, time off, buffers and existing appointments (those in `ignore` aside)."""
    resources = day_resources(snapshot, procedure, day, ignore)
    return resources.slots(practitioner_id, time_from, time_to)


def day_resources(
    snapshot: Snapshot, procedure: ProcedureRules, day: date, ignore: frozenset[int] = frozenset()
) -> DayResources:
    """A day's resources for a procedure with the sessions in `ignore` set aside. When none of
    them holds anything that day, they are the same for every question on this book, so the
    book keeps them with the day (and forgets them with it)."""
    book = snapshot.book
    if ignore and book.holds_any(day, ignore):
        return DayResources(snapshot, procedure, day, ignore)
    kept = book.kept(day)
    key = ("day_resources", procedure)
    found = kept.get(key)
    if not isinstance(found, DayResources):
        found = kept[key] = DayResources(snapshot, procedure, day)
    return found
