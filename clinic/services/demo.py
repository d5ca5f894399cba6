"""The demo clinic: the catalogue in `clinic/demo/catalogue.json`, accounts and a few weeks of
appointments, loaded in one transaction and safe to load twice.

Choices in the demo catalogue that DOMAIN.md leaves to a cosmetologist (every figure is the
clinic's to change, in the file or later in the staff pages):

- `blocked_by`: both peels are blocked by `no_resurfacing` (no peel on skin still recovering
  from another peel or a laser) and by `no_actives` (acids or retinoids in force means the
  skin is already being exfoliated; a peel on top over-exfoliates). The CO2 laser is blocked
  by `no_resurfacing` only. Facial massage, microcurrent and facial taping are blocked by
  `no_makeup`: while makeup is still forbidden the treated skin has not closed, and rubbing,
  gel and probes or tape adhesive do not belong on it either. `no_retinoids` blocks nothing;
  it exists as pre-care (stop retinoids 5 days before a peel).
- Beyond DOMAIN.md's figures, the medium TCA peel also gets the peel pre-care (no sun 14 days,
  no retinoids 5 days before), `no_actives` 14 days and `no_resurfacing` 28 days after, and
  the contraindications active herpes and pregnancy, as for the superficial peel: a deeper
  peel is never gentler than a lighter one.
- Every course whose aftercare blocks its own procedure keeps that restriction no longer
  than its minimum interval, so each course can be booked at its stated spacing.

Demo passwords are for the demo only and are printed by `flask --app clinic demo`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from clinic.models import (
    HOLDING_STATUSES,
    Appointment,
    Client,
    ClientCondition,
    ClientPeriod,
    ClinicSettings,
    Course,
    CourseRestriction,
    Device,
    Enrolment,
    Holiday,
    OpeningHours,
    Practitioner,
    Room,
    User,
)
from clinic.scheduling.timeutil import add_wall_hours, at, local_date
from clinic.services.cache import catalogue_transaction
from clinic.services.catalogue import ImportReport, import_into
from clinic.services.errors import InvalidRequest

CATALOGUE_PATH = Path(__file__).resolve().parent.parent / "demo" / "catalogue.json"
DEMO_DOMAIN = "demo.clinic"

PASSWORDS = {
    "admin": "demo-admin",
    "receptionist": "demo-reception",
    "practitioner": "demo-practitioner",
    "client": "demo-client",
}

# (name, conditions as (code, present, days ago last seen), declared periods as
# (kind, first day, last day counted from today, note), course wanted, screening done)
_Condition = tuple[str, bool, int | None]
_Period = tuple[str, int, int, str]
_CLIENTS: list[tuple[str, list[_Condition], list[_Period], str | None, bool]] = [
    ("Sophie Braun", [], [], "glycolic_course", True),
    ("Laura Hoffmann", [("isotretinoin", False, 60)], [], "massage_course", True),
    ("Julia Wagner", [("rosacea", True, None)], [], "microcurrent_course", True),
    ("Hannah Koch", [("pregnancy", True, None)], [], "massage_course", True),
    (
        "Lea Richter",
        [],
        [("sun_exposure", 30, 44, "Beach holiday in Mallorca")],
        "glycolic_course",
        True,
    ),
    ("Marie Klein", [], [("needs_makeup", 12, 12, "Sister's wedding")], "glycolic_course", True),
    ("Katrin Wolf", [], [], "co2_course", True),
    ("Emma Schroeder", [("pacemaker", True, None)], [], "glycolic_course", True),
    ("Mia Neumann", [("active_herpes", False, 200)], [], "tca_course", True),
    ("Lina Schwarz", [], [], "microcurrent_course", True),
    ("Clara Zimmermann", [], [("sun_exposure", 60, 74, "Ski trip")], "co2_course", True),
    ("Nina Krueger", [], [], "massage_course", True),
    ("Paula Hartmann", [("isotretinoin", False, 400)], [], "tca_course", True),
    ("Sarah Lange", [], [], "kinesio_single", True),
    ("Johanna Werner", [], [("needs_makeup", 3, 3, "Gala evening")], "microcurrent_course", True),
    ("Tom Krause", [], [], "massage_course", True),
    ("Felix Meier", [("active_inflammation", True, None)], [], "kinesio_single", True),
    ("Greta Lehmann", [], [], None, False),
    ("Ida Schmitt", [], [], None, False),
    ("Maja Schmid", [], [], None, False),
]

WINDOW_BEFORE = timedelta(days=21)
WINDOW_AFTER = timedelta(days=35)


@dataclass(frozen=True, slots=True)
class Login:
    role: str
    email: str
    password: str
    name: str
    note: str = ""


@dataclass(slots=True)
class DemoLogins:
    """The demo's accounts (with their demo-only passwords) and what the load did."""

    logins: list[Login] = field(default_factory=list)
    accounts_created: int = 0
    appointments_created: int = 0
    catalogue: ImportReport | None = None


def demo_catalogue() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    return data


def _email(name: str) -> str:
    return f"{name.lower().replace(' ', '.')}@{DEMO_DOMAIN}"


def load_demo(now: datetime, *, force: bool = False) -> DemoLogins:
    """Load the demo clinic as of `now` (timezone-aware). Running it again changes nothing.

    Refuses a database that holds another clinic's set-up unless `force`: the demo's
    opening hours and time zone would replace that clinic's.
    """
    if now.tzinfo is None:
        raise InvalidRequest("`now` must be timezone-aware.")
    data = demo_catalogue()
    with catalogue_transaction() as s:
        settings = s.scalar(select(ClinicSettings).order_by(ClinicSettings.id).limit(1))
        if settings is not None and settings.name != data["clinic"]["name"] and not force:
            raise InvalidRequest(
                f"This database holds the set-up of {settings.name!r}; loading the demo would "
                "replace its hours, time zone and policies. Use an empty database."
            )
        result = DemoLogins(catalogue=import_into(s, data))
        clients = _accounts(s, data, now, result)
        s.flush()
        if not s.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.client_id.in_(c.id for c, _ in clients)
            )
        ):
            result.appointments_created = _Calendar(s, now).fill(clients)
    return result


def _accounts(
    s: Session, data: dict[str, Any], now: datetime, result: DemoLogins
) -> list[tuple[Client, str | None]]:
    """Staff and client accounts; an existing account is left as it is (password included)."""
    hashes: dict[str, str] = {}

    def account(role: str, email: str, name: str, note: str = "") -> tuple[User, bool]:
        password = PASSWORDS[role]
        result.logins.append(Login(role, email, password, name, note))
        user = s.scalar(select(User).where(func.lower(User.email) == email))
        if user is not None:
            return user, False
        user = User(email=email, name=name, role=role)
        if password in hashes:
            user.password_hash = hashes[password]
        else:
            user.set_password(password)
            hashes[password] = user.password_hash
        s.add(user)
        s.flush()
        result.accounts_created += 1
        return user, True

    account("admin", f"admin@{DEMO_DOMAIN}", "Clinic Manager")
    account("receptionist", f"reception@{DEMO_DOMAIN}", "Front Desk")
    for p in data["practitioners"]:
        user, _ = account("practitioner", p["email"], p["name"])
        practitioner = s.scalar(select(Practitioner).where(Practitioner.email == p["email"]))
        if practitioner is not None and practitioner.user_id is None:
            practitioner.user_id = user.id

    today = local_date(now, ZoneInfo(data["clinic"]["timezone"]))
    clients: list[tuple[Client, str | None]] = []
    for i, (name, conditions, periods, course, screened) in enumerate(_CLIENTS):
        email = _email(name)
        note = "; ".join(
            [c for c, present, _ in conditions if present]
            + [f"{c} {ago} days ago" for c, present, ago in conditions if not present]
            + [f"{note} in {start} days" for _, start, _, note in periods]
            + ([] if screened else ["no screening yet"])
        )
        user, created = account("client", email, name, note)
        client = s.scalar(select(Client).where(func.lower(Client.email) == email))
        if client is None:
            client = Client(email=email, name=name, phone=f"+49 30 5550 {100 + i:04d}")
            s.add(client)
        if client.user_id is None:
            client.user_id = user.id
        if created:
            if screened:
                client.screening_confirmed_at = now - timedelta(days=30 + i)
            for code, present, ago in conditions:
                last = None if ago is None else today - timedelta(days=ago)
                client.conditions.append(
                    ClientCondition(code=code, present=present, last_on=last, updated_at=now)
                )
            for kind, start, end, period_note in periods:
                client.periods.append(
                    ClientPeriod(
                        kind=kind,
                        start_on=today + timedelta(days=start),
                        end_on=today + timedelta(days=end),
                        note=period_note,
                    )
                )
        s.flush()
        clients.append((client, course))
    return clients


Span = tuple[datetime, datetime]


def _free(spans: list[Span], start: datetime, end: datetime) -> bool:
    return all(end <= a or b <= start for a, b in spans)


class _Calendar:
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
        self.slot = timedelta(minutes=settings.slot_minutes)
        self.holidays = set(s.scalars(select(Holiday.day)))
        self.opening: dict[int, list[tuple[time, time]]] = {}
        for h in s.scalars(select(OpeningHours)):
            self.opening.setdefault(h.weekday, []).append((h.opens, h.closes))
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
        for a in s.scalars(
            select(Appointment).where(
                Appointment.status.in_(HOLDING_STATUSES),
                Appointment.start_at < at(self.last_day + timedelta(days=1), time(0), self.tz),
                Appointment.busy_until_at > at(self.first_day, time(0), self.tz),
            )
        ):
            self._hold(a.practitioner_id, a.room_id, a.device_id, a.client_id, a)

    def _hold(
        self, practitioner: int, room: int, device: int | None, client: int, a: Appointment
    ) -> None:
        self.busy.setdefault(("practitioner", practitioner), []).append(
            (a.start_at, a.busy_until_at)
        )
        self.busy.setdefault(("room", room), []).append((a.start_at, a.busy_until_at))
        if device is not None:
            self.busy.setdefault(("device", device), []).append((a.start_at, a.busy_until_at))
        self.busy.setdefault(("client", client), []).append((a.start_at, a.end_at))

    def fill(self, clients: list[tuple[Client, str | None]]) -> int:
        created = 0
        for i, (client, code) in enumerate(clients):
            if code is not None and code in self.courses:
                created += self._enrol(i, client, self.courses[code])
        return created

    def _enrol(self, i: int, client: Client, course: Course) -> int:
        procedure = course.procedure
        qualified = [
            p for p in self.practitioners if procedure.qualification in p.qualification_codes
        ]
        if not qualified:
            return 0
        qualified = qualified[i % len(qualified) :] + qualified[: i % len(qualified)]
        blocks = {r.code for r in procedure.blocked_by}
        lo = course.min_interval_days
        hi = course.max_interval_days
        step = lo if lo >= 7 else min(lo + 1 + i % 2, hi if hi is not None else 99)
        preferred = time(9) if i % 3 == 0 else time(11, 30) if i % 3 == 1 else time(15)
        # Restriction windows already in force on this client: (code, start, end).
        windows: list[tuple[str, datetime, datetime]] = []
        sessions: list[tuple[datetime, Practitioner, Room, Device | None]] = []
        previous: date | None = None
        for _ in range(course.sessions):
            if previous is None:
                days = [self.first_day + timedelta(days=i + k) for k in range(14)]
            else:
                far = hi if hi is not None else step + 14
                days = [previous + timedelta(days=k) for k in range(step, far + 1)]
                days += [previous + timedelta(days=k) for k in range(lo, step)]
            found = None
            for day in days:
                if day > self.last_day:
                    break
                if self._day_allowed(day, client, course):
                    found = self._find_slot(
                        day, preferred, qualified, client, course, windows, blocks
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
        done = all(start < self.now for start, *_ in sessions)
        enrolment = Enrolment(
            client_id=client.id,
            course_id=course.id,
            status="completed" if done and len(sessions) == course.sessions else "active",
            created_at=min(sessions[0][0], self.now) - timedelta(days=7),
        )
        self.s.add(enrolment)
        self.s.flush()
        for n, (start, practitioner, room, device) in enumerate(sessions, start=1):
            end = start + timedelta(minutes=procedure.duration_min)
            appointment = Appointment(
                enrolment_id=enrolment.id,
                session=n,
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
            self._hold(practitioner.id, room.id, appointment.device_id, client.id, appointment)
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
        clash = {"sun": "sun_exposure", "makeup": "needs_makeup"}
        for care in course.care:
            kind = clash.get(care.restriction.kind)
            if kind is None:
                continue
            if care.phase == "after":
                span = (start, add_wall_hours(start, care.hours, self.tz))
            else:
                span = (add_wall_hours(start, -care.hours, self.tz), start)
            for period in client.periods:
                if period.kind != kind:
                    continue
                p_start = at(period.start_on, time(0), self.tz)
                p_end = at(period.end_on + timedelta(days=1), time(0), self.tz)
                if span[0] < p_end and p_start < span[1]:
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
        blocks: set[str],
    ) -> tuple[datetime, Practitioner, Room, Device | None] | None:
        procedure = course.procedure
        length = timedelta(minutes=procedure.duration_min)
        held = length + timedelta(minutes=procedure.buffer_min)
        weekday = day.weekday()
        starts: list[datetime] = []
        for opens, closes in self.opening.get(weekday, []):
            t = at(day, opens, self.tz)
            while t + held <= at(day, closes, self.tz):
                starts.append(t)
                t += self.slot
        wanted = at(day, preferred, self.tz)
        starts.sort(key=lambda t: (t < wanted, abs(t - wanted)))
        devices = [d for d in self.devices if d.kind == procedure.device_kind]
        for start in starts:
            if start < self.now < start + held:
                continue
            if any(code in blocks and a <= start < b for code, a, b in windows):
                continue
            if not _free(self.busy.get(("client", client.id), []), start, start + length):
                continue
            if not self._plans_allow(client, course, start):
                continue
            device: Device | None = None
            if procedure.device_kind is not None:
                device = next(
                    (
                        d
                        for d in devices
                        if _free(self.busy.get(("device", d.id), []), start, start + held)
                    ),
                    None,
                )
                if device is None:
                    continue
            room = next(
                (
                    r
                    for r in self.rooms
                    if _free(self.busy.get(("room", r.id), []), start, start + held)
                ),
                None,
            )
            if room is None:
                continue
            for practitioner in qualified:
                if self._works(practitioner, day, start, start + held) and _free(
                    self.busy.get(("practitioner", practitioner.id), []), start, start + held
                ):
                    return start, practitioner, room, device
        return None

    def _works(self, p: Practitioner, day: date, start: datetime, end: datetime) -> bool:
        if any(t.start_on <= day <= t.end_on for t in p.time_off):
            return False
        return any(
            h.weekday == day.weekday()
            and at(day, h.starts, self.tz) <= start
            and end <= at(day, h.ends, self.tz)
            for h in p.hours
        )
