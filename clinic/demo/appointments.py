"""The demo's sessions: a few weeks of past (done) and future (booked) appointments."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from clinic.models import (
    HOLDING_STATUSES,
    Appointment,
    Client,
    ClinicSettings,
    Course,
    CourseRestriction,
    Device,
    Enrolment,
    Holiday,
    OpeningHours,
    Practitioner,
    Room,
)
from clinic.scheduling.timeutil import add_wall_hours, at, local_date
from clinic.services.world.aftercare import rules_record
from clinic.services.world.course_catalogue import course_rules

# The demo's sessions lie within these weeks around today.
WINDOW_BEFORE = timedelta(days=21)
WINDOW_AFTER = timedelta(days=35)

# [start, end) a practitioner, room, device or client is taken
Span = tuple[datetime, datetime]
# A session's start and where it is held
Slot = tuple[datetime, Practitioner, Room, Device | None]


def _is_free(spans: list[Span], start: datetime, end: datetime) -> bool:
    return all(end <= taken_from or taken_until <= start for taken_from, taken_until in spans)


class DemoCalendar:
    """A deterministic generator of past (done) and future (booked) sessions that respects
    spacing, season, contraindications, restrictions, declared plans, opening and working
    hours, and never double-books a practitioner, room, device or client.

    It is deliberately simple and independent of the booking service: demo data only.
    """

    def __init__(self, s: Session, now: datetime) -> None:
        self.s = s
        self.now = now
        settings = s.scalar(select(ClinicSettings).order_by(ClinicSettings.id).limit(1))
        assert settings is not None
        self.tz = ZoneInfo(settings.timezone)
        self.slot_length = timedelta(minutes=settings.slot_minutes)
        self.holidays = set(s.scalars(select(Holiday.day)))
        self.opening: dict[int, list[tuple[time, time]]] = {}
        for row in s.scalars(select(OpeningHours)):
            self.opening.setdefault(row.weekday, []).append((row.opens, row.closes))
        self.practitioners = list(
            s.scalars(
                select(Practitioner)
                .where(Practitioner.active.is_(True))
                .options(
                    selectinload(Practitioner.qualifications),
                    selectinload(Practitioner.hours),
                    selectinload(Practitioner.time_off),
                )
                .order_by(Practitioner.email)
            )
        )
        self.rooms = list(s.scalars(select(Room).where(Room.active.is_(True)).order_by(Room.code)))
        self.devices = list(
            s.scalars(select(Device).where(Device.active.is_(True)).order_by(Device.code))
        )
        self.courses = {
            c.code: c
            for c in s.scalars(
                select(Course).options(
                    selectinload(Course.procedure),
                    selectinload(Course.care).joinedload(CourseRestriction.restriction),
                    selectinload(Course.contraindications),
                )
            )
        }
        self.today = local_date(now, self.tz)
        self.first_day = self.today - WINDOW_BEFORE
        self.last_day = self.today + WINDOW_AFTER
        self.busy: dict[tuple[str, int], list[Span]] = {}
        for appointment in s.scalars(
            select(Appointment).where(
                Appointment.status.in_(HOLDING_STATUSES),
                Appointment.start_at < at(self.last_day + timedelta(days=1), time(0), self.tz),
                Appointment.busy_until_at > at(self.first_day, time(0), self.tz),
            )
        ):
            self._hold(appointment)

    def _hold(self, appointment: Appointment) -> None:
        """Mark the appointment's practitioner, room and device busy until its buffer ends,
        and its client until it ends."""
        held = (appointment.start_at, appointment.busy_until_at)
        self.busy.setdefault(("practitioner", appointment.practitioner_id), []).append(held)
        self.busy.setdefault(("room", appointment.room_id), []).append(held)
        if appointment.device_id is not None:
            self.busy.setdefault(("device", appointment.device_id), []).append(held)
        self.busy.setdefault(("client", appointment.client_id), []).append(
            (appointment.start_at, appointment.end_at)
        )

    def fill(self, clients: list[tuple[Client, str | None]]) -> int:
        created = 0
        for index, (client, code) in enumerate(clients):
            if code is not None and code in self.courses:
                created += self._enrol(index, client, self.courses[code])
        return created

    def _enrol(self, index: int, client: Client, course: Course) -> int:
        # The client's place in the list varies practitioner, spacing, time of day and first day.
        procedure = course.procedure
        qualified = [
            p for p in self.practitioners if procedure.qualification in p.qualification_codes
        ]
        if not qualified:
            return 0
        qualified = qualified[index % len(qualified) :] + qualified[: index % len(qualified)]
        blocking = {r.code for r in procedure.blocked_by}
        min_gap = course.min_interval_days
        max_gap = course.max_interval_days
        step = (
            min_gap
            if min_gap >= 7
            else min(min_gap + 1 + index % 2, max_gap if max_gap is not None else 99)
        )
        preferred = time(9) if index % 3 == 0 else time(11, 30) if index % 3 == 1 else time(15)
        # Restriction windows already in force on this client: (code, start, end).
        windows: list[tuple[str, datetime, datetime]] = []
        sessions: list[tuple[datetime, Practitioner, Room, Device | None]] = []
        previous: date | None = None
        for _ in range(course.sessions):
            if previous is None:
                days = [self.first_day + timedelta(days=index + k) for k in range(14)]
            else:
                farthest = max_gap if max_gap is not None else step + 14
                days = [previous + timedelta(days=k) for k in range(step, farthest + 1)]
                days += [previous + timedelta(days=k) for k in range(min_gap, step)]
            found = None
            for day in days:
                if day > self.last_day:
                    break
                if self._day_allowed(day, client, course):
                    found = self._find_slot(
                        day, preferred, qualified, client, course, windows, blocking
                    )
                if found is not None:
                    break
            if found is None:
                break
            start, practitioner, room, device = found
            sessions.append(found)
            for care in course.aftercare:
                windows.append(
                    (care.restriction.code, start, add_wall_hours(start, care.hours, self.tz))
                )
            previous = local_date(start, self.tz)
        if not sessions:
            return 0
        test: tuple[Course, Slot] | None = None
        if procedure.patch_test_procedure is not None:
            test = self._patch_test(client, course, sessions[0][0], preferred)
            if test is None:
                return 0  # no course without the patch test it needs
            self._write(client, test[0], [test[1]])
        return self._write(client, course, sessions) + (1 if test else 0)

    def _patch_test(
        self, client: Client, course: Course, first: datetime, preferred: time
    ) -> tuple[Course, Slot] | None:
        """The patch test a course's procedure needs, as late as its window before the first
        session allows (a one-session course of the test's procedure), or None."""
        procedure = course.procedure
        assert procedure.patch_test_min_hours and procedure.patch_test_max_days
        test_course = next(
            (
                c
                for c in sorted(self.courses.values(), key=lambda c: c.code)
                if c.procedure.code == procedure.patch_test_procedure and c.sessions == 1
            ),
            None,
        )
        if test_course is None:
            return None
        qualified = [
            p
            for p in self.practitioners
            if test_course.procedure.qualification in p.qualification_codes
        ]
        latest = first - timedelta(hours=procedure.patch_test_min_hours)
        earliest = first - timedelta(days=procedure.patch_test_max_days)
        day = local_date(latest, self.tz)
        for _ in range(14):
            if day not in self.holidays:
                found = self._find_slot(day, preferred, qualified, client, test_course, [], set())
                if found is not None and earliest <= found[0] <= latest:
                    return test_course, found
            day -= timedelta(days=1)
        return None

    def _write(self, client: Client, course: Course, sessions: list[Slot]) -> int:
        """An enrolment of the course with these sessions (done before now, booked after)."""
        procedure = course.procedure
        all_past = all(start < self.now for start, *_ in sessions)
        enrolment = Enrolment(
            client_id=client.id,
            course_id=course.id,
            rules=rules_record(course_rules(course)),
            status="completed" if all_past and len(sessions) == course.sessions else "active",
            created_at=min(sessions[0][0], self.now) - timedelta(days=7),
        )
        self.s.add(enrolment)
        self.s.flush()
        for number, (start, practitioner, room, device) in enumerate(sessions, start=1):
            end = start + timedelta(minutes=procedure.duration_min)
            appointment = Appointment(
                enrolment_id=enrolment.id,
                session=number,
                client_id=client.id,
                practitioner_id=practitioner.id,
                room_id=room.id,
                device_id=device.id if device is not None else None,
                start_at=start,
                end_at=end,
                busy_until_at=end + timedelta(minutes=procedure.buffer_min),
                status="done" if start < self.now else "booked",
                note="Demo session." if start < self.now else "",
                created_at=enrolment.created_at,
                updated_at=enrolment.created_at,
            )
            self.s.add(appointment)
            self._hold(appointment)
        return len(sessions)

    def _day_allowed(self, day: date, client: Client, course: Course) -> bool:
        if day in self.holidays or day.month not in course.months:
            return False
        for contra in course.contraindications:
            for condition in client.conditions:
                if condition.code != contra.code:
                    continue
                if condition.present:
                    return False
                if (
                    condition.last_on is not None
                    and contra.lookback_days
                    and (day - condition.last_on).days < contra.lookback_days
                ):
                    return False
        return True

    def _plans_allow(self, client: Client, course: Course, start: datetime) -> bool:
        """No sun-kind window over a sun-exposure period, no makeup-kind window over a
        needs-makeup period (aftercare after the start, pre-care before it)."""
        clashing_period = {"sun": "sun_exposure", "makeup": "needs_makeup"}
        for care in course.care:
            kind = clashing_period.get(care.restriction.kind)
            if kind is None:
                continue
            if care.phase == "after":
                span = (start, add_wall_hours(start, care.hours, self.tz))
            else:
                span = (add_wall_hours(start, -care.hours, self.tz), start)
            for period in client.periods:
                if period.kind != kind:
                    continue
                period_start = at(period.start_on, time(0), self.tz)
                period_end = at(period.end_on + timedelta(days=1), time(0), self.tz)
                if span[0] < period_end and period_start < span[1]:
                    return False
        return True

    def _find_slot(
        self,
        day: date,
        preferred: time,
        qualified: list[Practitioner],
        client: Client,
        course: Course,
        windows: list[tuple[str, datetime, datetime]],
        blocking: set[str],
    ) -> tuple[datetime, Practitioner, Room, Device | None] | None:
        procedure = course.procedure
        length = timedelta(minutes=procedure.duration_min)
        held_for = length + timedelta(minutes=procedure.buffer_min)
        weekday = day.weekday()
        starts: list[datetime] = []
        for opens, closes in self.opening.get(weekday, []):
            t = at(day, opens, self.tz)
            while t + held_for <= at(day, closes, self.tz):
                starts.append(t)
                t += self.slot_length
        # From the preferred time on, nearest first; earlier starts only after those.
        wanted = at(day, preferred, self.tz)
        starts.sort(key=lambda t: (t < wanted, abs(t - wanted)))
        devices = [d for d in self.devices if d.kind == procedure.device_kind]
        for start in starts:
            if start < self.now < start + held_for:
                continue
            if any(code in blocking and a <= start < b for code, a, b in windows):
                continue
            if not _is_free(self.busy.get(("client", client.id), []), start, start + length):
                continue
            if not self._plans_allow(client, course, start):
                continue
            device: Device | None = None
            if procedure.device_kind is not None:
                device = next(
                    (
                        d
                        for d in devices
                        if _is_free(self.busy.get(("device", d.id), []), start, start + held_for)
                    ),
                    None,
                )
                if device is None:
                    continue
            room = next(
                (
                    r
                    for r in self.rooms
                    if _is_free(self.busy.get(("room", r.id), []), start, start + held_for)
                ),
                None,
            )
            if room is None:
                continue
            for practitioner in qualified:
                if self._works(practitioner, day, start, start + held_for) and _is_free(
                    self.busy.get(("practitioner", practitioner.id), []), start, start + held_for
                ):
                    return start, practitioner, room, device
        return None

    def _works(self, p: Practitioner, day: date, start: datetime, end: datetime) -> bool:
        if any(off.start_on <= day <= off.end_on for off in p.time_off):
            return False
        return any(
            hours.weekday == day.weekday()
            and at(day, hours.starts, self.tz) <= start
            and end <= at(day, hours.ends, self.tz)
            for hours in p.hours
        )
