"""Factory helpers: rows with sensible defaults, each overridable (`make_course(sessions=3)`).

They write through the ORM session and commit, as test set-up, never as application code.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from clinic.extensions import db
from clinic.models import (
    ApiToken,
    Appointment,
    Client,
    ClientCondition,
    ClientPeriod,
    ClinicSettings,
    Course,
    CourseContraindication,
    CourseRestriction,
    Device,
    Enrolment,
    LoginSession,
    OpeningHours,
    Practitioner,
    PractitionerQualification,
    Procedure,
    Restriction,
    Room,
    User,
    WorkingHours,
    utcnow,
)
from clinic.security import LOGIN_KEY
from clinic.services.core.actors import Actor, actor_for
from clinic.services.core.cache import catalogue_changed, wrote_catalogue
from clinic.services.courses import enrol
from clinic.services.courses.placing import CoursePlan, SessionRequest

TZ = "Europe/Berlin"


def commit() -> None:
    """Commit what a factory added; a catalogue row moves the catalogue's version, as the
    catalogue-writing services do (services.cache.catalogue_changed)."""
    db.session.flush()
    if wrote_catalogue():
        catalogue_changed()
    db.session.commit()


def _save(obj: Any) -> Any:
    db.session.add(obj)
    commit()
    return obj


def make_clinic(**overrides: Any) -> ClinicSettings:
    """Settings, Mon-Sat 09:00-19:00 opening hours and two rooms."""
    values = dict(
        name="Test Clinic",
        timezone=TZ,
        slot_minutes=15,
        client_change_notice_hours=24,
        horizon_days=365,
        screening_valid_days=180,
    )
    values.update(overrides)
    settings = ClinicSettings(**values)
    db.session.add(settings)
    for weekday in range(6):
        db.session.add(OpeningHours(weekday=weekday, opens=time(9), closes=time(19)))
    db.session.add_all([Room(code="R1", name="Room 1"), Room(code="R2", name="Room 2")])
    commit()
    return settings


def make_restriction(
    code: str = "no_uv", kind: str = "sun", text: str | None = None
) -> Restriction:
    existing = db.session.query(Restriction).filter_by(code=code).one_or_none()
    if existing is not None:
        return existing
    return _save(
        Restriction(code=code, kind=kind, text=text or code.replace("_", " ").capitalize())
    )


def make_device(code: str = "CO2-1", kind: str = "co2_laser") -> Device:
    return _save(Device(code=code, kind=kind, name="Fractional CO2 laser"))


def make_procedure(**overrides: Any) -> Procedure:
    blocked = overrides.pop("blocked_by", ["no_resurfacing"])
    values = dict(
        code="peel",
        name="Glycolic peel",
        duration_min=45,
        buffer_min=15,
        qualification="peel",
        device_kind=None,
        price=Decimal("80.00"),
    )
    values.update(overrides)
    procedure = Procedure(**values)
    procedure.blocked_by = [make_restriction(code, "other") for code in blocked]
    return _save(procedure)


def make_course(**overrides: Any) -> Course:
    """A 6-session peel course, 14-28 days apart, no sun 7 days and no resurfacing 14 days after."""
    procedure = overrides.pop("procedure", None) or make_procedure()
    aftercare = overrides.pop(
        "aftercare", [("no_uv", "sun", 168), ("no_resurfacing", "other", 336)]
    )
    precare = overrides.pop("precare", [])
    contra = overrides.pop("contraindications", [("pregnancy", 0), ("isotretinoin", 180)])
    values = dict(
        code="peel_course",
        name="Glycolic peel, 6 sessions",
        procedure=procedure,
        sessions=6,
        min_interval_days=14,
        max_interval_days=28,
    )
    values.update(overrides)
    course = Course(**values)
    course.care = [
        CourseRestriction(restriction=make_restriction(c, k), phase="after", hours=h)
        for c, k, h in aftercare
    ]
    course.care += [
        CourseRestriction(restriction=make_restriction(c, k), phase="before", hours=h)
        for c, k, h in precare
    ]
    course.contraindications = [CourseContraindication(code=c, lookback_days=d) for c, d in contra]
    return _save(course)


def make_patch_test(
    procedure: Procedure, code: str, min_hours: int = 48, max_days: int = 90
) -> Course:
    """A patch test `procedure` needs before a course's first session: the test's own procedure
    `code` (15 minutes) and the one-session course it is booked as."""
    test = make_procedure(code=code, name=f"Patch test {code}", duration_min=15)
    course = make_course(
        code=f"{code}_single",
        name=f"Patch test {code}",
        procedure=test,
        sessions=1,
        min_interval_days=0,
        max_interval_days=None,
        aftercare=[],
        contraindications=[],
    )
    procedure.patch_test_procedure = code
    procedure.patch_test_min_hours = min_hours
    procedure.patch_test_max_days = max_days
    commit()
    return course


def make_practitioner(**overrides: Any) -> Practitioner:
    """Works Mon-Fri 09:00-17:00 with the given qualifications (default peel and laser)."""
    qualifications = overrides.pop("qualifications", ["peel", "laser"])
    hours = overrides.pop("hours", {d: [(time(9), time(17))] for d in range(5)})
    n = db.session.query(Practitioner).count() + 1
    values = dict(email=f"pract{n}@clinic.example", name=f"Practitioner {n}")
    values.update(overrides)
    practitioner = Practitioner(**values)
    practitioner.qualifications = [
        PractitionerQualification(qualification=q) for q in qualifications
    ]
    practitioner.hours = [
        WorkingHours(weekday=d, starts=a, ends=b) for d, spans in hours.items() for a, b in spans
    ]
    return _save(practitioner)


# scrypt costs ~0.1 s a hash on purpose (two on a busy machine). A factory user's hash is only
# ever checked, so each password is hashed once per process and its hash shared by the users
# that have it, as the demo loader does (clinic/demo/logins.py).
_hash_of: dict[str, str] = {}


def make_user(role: str = "client", **overrides: Any) -> User:
    n = db.session.query(User).count() + 1
    values = dict(email=f"{role}{n}@example.com", name=f"{role.capitalize()} {n}", role=role)
    values.update(overrides)
    password = values.pop("password", "password123")
    user = User(**values)
    if password not in _hash_of:
        user.set_password(password)
        _hash_of[password] = user.password_hash
    user.password_hash = _hash_of[password]
    db.session.add(user)
    db.session.flush()
    if role == "client":
        db.session.add(Client(user_id=user.id, name=user.name, email=user.email))
    commit()
    return user


def log_in(session: MutableMapping[str, Any], user_id: int) -> None:
    """Log a test client in as the user, as the login form does but without it (and its
    scrypt): a live login row, with its id and the user's in the client's session cookie.
    Use inside `with web.session_transaction() as session:`."""
    login = _save(
        LoginSession(id=f"test-{user_id}-{db.session.query(LoginSession).count()}", user_id=user_id)
    )
    session[LOGIN_KEY] = login.id
    session["_user_id"] = str(user_id)
    session["_fresh"] = True


def make_token(user_id: int) -> str:
    """A live API token for the user, written as the token service writes one
    (services/people/tokens.py) but without its password check: scrypt costs ~0.1 s a login,
    and the token endpoint itself is tested in tests/api/test_token_ends.py and test_api.py."""
    token = secrets.token_urlsafe(24)
    _save(
        ApiToken(
            user_id=user_id,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    return token


def make_client(**overrides: Any) -> Client:
    """A client with a login and a screening confirmed now (`screened=False` for none);
    `conditions` as {code: (present, last_on)}, `periods` as [(kind, start_on, end_on)],
    `phototype` the skin type (1-6; none recorded by default), `phone` as stored (E.164)."""
    conditions = overrides.pop("conditions", {})
    periods = overrides.pop("periods", [])
    screened = overrides.pop("screened", True)
    phototype = overrides.pop("phototype", None)
    phone = overrides.pop("phone", "")
    user = make_user("client", **overrides)
    client = user.client
    client.phototype = phototype
    client.phone = phone
    if screened:
        client.screening_confirmed_at = datetime.now(UTC)
    for code, (present, last_on) in conditions.items():
        client.conditions.append(ClientCondition(code=code, present=present, last_on=last_on))
    for kind, start_on, end_on in periods:
        client.periods.append(ClientPeriod(kind=kind, start_on=start_on, end_on=end_on))
    commit()
    return client


def actor(role: str = "receptionist", **overrides: Any) -> Actor:
    return actor_for(make_user(role, **overrides))


def client_actor(client: Client) -> Actor:
    return actor_for(client.user)


def day(iso: str) -> date:
    return date.fromisoformat(iso)


# --- a clinic with a booked course, through the services ----------------------------------------


def book(
    *starts: datetime,
    client: Client,
    practitioner: Practitioner | None = None,
    by: Actor | None = None,
    course_code: str = "peel_course",
    **options: Any,
) -> Enrolment:
    """Book the client's course with sessions at `starts` through `enrol.book_course`, as a new
    receptionist unless `by` says who (a client books for itself), at `practitioner`'s (or
    where the service places them). `options`: `now`, `override_reason`, ..."""
    pinned = practitioner.id if practitioner is not None else None
    return enrol.book_course(
        actor=by or actor("receptionist"),
        course_code=course_code,
        client_id=None if by is not None and by.role == "client" else client.id,
        sessions=[SessionRequest(start, pinned) for start in starts],
        **options,
    )


def plan_then_book(
    *,
    actor: Actor,
    client_id: int | None,
    earliest: date,
    course_code: str = "peel_course",
    now: datetime | None = None,
    **plan_options: Any,
) -> tuple[CoursePlan, Enrolment]:
    """Plan a course (`enrol.plan_course_for`) and book exactly the sessions it proposed."""
    plan = enrol.plan_course_for(
        actor=actor,
        course_code=course_code,
        client_id=client_id,
        earliest=earliest,
        now=now,
        **plan_options,
    )
    enrolment = enrol.book_course(
        actor=actor,
        course_code=course_code,
        client_id=client_id,
        sessions=[SessionRequest(p.slot.start, p.slot.practitioner_id) for p in plan.sessions],
        now=now,
    )
    return plan, enrolment


@dataclass
class BookedCourse:
    """What `make_booked_course` made: the enrolment and the rows around it."""

    practitioner: Practitioner
    course: Course
    client: Client
    desk: Actor
    enrolment: Enrolment

    @property
    def sessions(self) -> list[Appointment]:
        """The enrolment's appointments in session order."""
        return sorted(self.enrolment.appointments, key=lambda a: a.session)

    @property
    def ids(self) -> list[int]:
        return [a.id for a in self.sessions]


def make_booked_course(
    *starts: datetime,
    clinic: dict[str, Any] | None = None,
    practitioner: dict[str, Any] | None = None,
    course: dict[str, Any] | None = None,
    client: dict[str, Any] | None = None,
    by_client: bool = False,
    **options: Any,
) -> BookedCourse:
    """A clinic (`make_clinic`), one practitioner, a course and a client, each with the given
    overrides, and the client's course booked by reception with sessions at `starts` at that
    practitioner's (`by_client=True`: the client books, choosing no practitioner).
    `options` go to `book_course` (`now`, ...)."""
    make_clinic(**(clinic or {}))
    the_practitioner = make_practitioner(**(practitioner or {}))
    the_course = make_course(**(course or {}))
    the_client = make_client(**(client or {}))
    desk = actor("receptionist")
    enrolment = book(
        *starts,
        client=the_client,
        practitioner=None if by_client else the_practitioner,
        by=client_actor(the_client) if by_client else desk,
        course_code=the_course.code,
        **options,
    )
    return BookedCourse(the_practitioner, the_course, the_client, desk, enrolment)
