"""The engine's values: everything it knows arrives as these frozen dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

# Local working intervals by weekday (0 = Monday).
WeeklyHours = Mapping[int, tuple[tuple[time, time], ...]]

# The Fitzpatrick skin phototypes, I to VI: a course treats all of them unless it lists some.
PHOTOTYPES = frozenset(range(1, 7))


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open interval [start, end) of aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("TimeRange needs timezone-aware datetimes")
        if self.end < self.start:
            raise ValueError("TimeRange ends before it starts")

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def overlaps(self, other: TimeRange) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class ClinicRules:
    tz: ZoneInfo
    opening: WeeklyHours
    holidays: frozenset[date] = frozenset()
    slot_minutes: int = 15
    change_notice: timedelta = timedelta(hours=24)
    horizon_days: int = 365


@dataclass(frozen=True, slots=True)
class CareRule:
    """A restriction a session starts (phase 'after') or needs kept before it ('before')."""

    code: str
    text: str
    kind: str  # 'sun', 'makeup' or 'other'
    hours: int
    phase: str = "after"


@dataclass(frozen=True, slots=True)
class PatchTestRule:
    """A procedure's patch test: a session of the procedure `procedure` (a code) held or booked
    at least `min_hours_before` and at most `max_days_before` before a course's first session."""

    procedure: str
    min_hours_before: int
    max_days_before: int


@dataclass(frozen=True, slots=True)
class ConsentNeed:
    """A consent form a procedure needs signed, validly on each session's local date."""

    form: str
    title: str


@dataclass(frozen=True, slots=True)
class ProcedureRules:
    code: str
    name: str
    duration: timedelta
    buffer: timedelta
    qualification: str
    device_kind: str | None = None
    blocked_by: frozenset[str] = frozenset()
    patch_test: PatchTestRule | None = None
    consents: tuple[ConsentNeed, ...] = ()


@dataclass(frozen=True, slots=True)
class ContraRule:
    condition: str
    lookback_days: int = 0


@dataclass(frozen=True, slots=True)
class CourseRules:
    code: str
    name: str
    procedure: ProcedureRules
    sessions: int
    min_interval_days: int
    max_interval_days: int | None
    care: tuple[CareRule, ...] = ()
    contraindications: tuple[ContraRule, ...] = ()
    months: frozenset[int] = frozenset(range(1, 13))
    # The spacing the planner aims for (between min and max); None: as early as allowed.
    ideal_interval_days: int | None = None
    # The skin phototypes the course may treat (e.g. an ablative laser I to IV).
    phototypes: frozenset[int] = PHOTOTYPES
    # The hash, computed once: care windows are cached by (start, course, tz), and hashing
    # the nested rules on every look-up was the planner's biggest cost (see bench/README.md).
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (
            self.code,
            self.name,
            self.procedure,
            self.sessions,
            self.min_interval_days,
            self.max_interval_days,
            self.care,
            self.contraindications,
            self.months,
            self.ideal_interval_days,
            self.phototypes,
        )
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    @property
    def aftercare(self) -> tuple[CareRule, ...]:
        return tuple(c for c in self.care if c.phase == "after")

    @property
    def precare(self) -> tuple[CareRule, ...]:
        return tuple(c for c in self.care if c.phase == "before")


@dataclass(frozen=True, slots=True)
class ConditionState:
    """A screening answer: present now, and/or the date it was last present."""

    present: bool = False
    last_on: date | None = None


@dataclass(frozen=True, slots=True)
class DeclaredPeriod:
    """A client's own plan: 'sun_exposure' or 'needs_makeup', both dates included."""

    kind: str
    start_on: date
    end_on: date
    note: str = ""


@dataclass(frozen=True, slots=True)
class SignedConsent:
    """A client's signature of a consent form (`version`: the text it signed). It is valid
    on the clinic's local dates `signed_on` to `valid_until`, both included."""

    form: str
    version: int
    signed_on: date
    valid_until: date

    def covers(self, day: date) -> bool:
        return self.signed_on <= day <= self.valid_until


@dataclass(frozen=True, slots=True)
class BookedSession:
    """A live session of the client, with the rules it carries."""

    appointment_id: int
    enrolment_id: int
    session: int
    start: datetime
    end: datetime
    course: CourseRules
    # A patch test's result when the skin reacted to it: the practitioner's note.
    reaction: str | None = None


@dataclass(frozen=True, slots=True)
class ClientState:
    id: int
    conditions: Mapping[str, ConditionState] = field(default_factory=dict)
    periods: tuple[DeclaredPeriod, ...] = ()
    sessions: tuple[BookedSession, ...] = ()
    # The Fitzpatrick phototype (1-6) the screening recorded; None: not recorded yet.
    phototype: int | None = None
    consents: tuple[SignedConsent, ...] = ()


@dataclass(frozen=True, slots=True)
class PractitionerCalendar:
    id: int
    name: str
    qualifications: frozenset[str]
    hours: WeeklyHours
    time_off: tuple[tuple[date, date], ...] = ()

    def is_off(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.time_off)


@dataclass(frozen=True, slots=True)
class Equipment:
    """A device (with its kind) or a room (kind None)."""

    id: int
    name: str
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class Occupancy:
    """An existing appointment as the resources see it: held from start until busy_until."""

    appointment_id: int
    practitioner_id: int
    device_id: int | None
    room_id: int
    start: datetime
    busy_until: datetime


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    end: datetime
    practitioner_id: int
    device_id: int | None
    room_id: int


@dataclass(frozen=True, slots=True)
class ProposedSession:
    """A session someone asks for; practitioner None means any qualified one."""

    session: int
    start: datetime
    practitioner_id: int | None = None


@dataclass(frozen=True, slots=True)
class Preferences:
    weekdays: frozenset[int] | None = None
    time_from: time | None = None
    time_to: time | None = None
    practitioner_id: int | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken rule: a stable code, a sentence for the client, the session it concerns.

    `conflict` marks a slot taken by another booking (HTTP 409 rather than 422); `soft`
    marks a rule staff may override with a written reason; `staff_may_book` a rule staff may
    book past without one, the session then waiting on the attention list until it holds
    (a consent not signed yet: `CheckResult.flags`). `form`: the consent form a
    `consent_required` asks to sign.
    """

    code: str
    message: str
    session: int | None = None
    earliest: date | None = None
    conflict: bool = False
    soft: bool = False
    staff_may_book: bool = False
    form: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.session is not None:
            out["session"] = self.session
        if self.earliest is not None:
            out["earliest"] = self.earliest.isoformat()
        if self.form is not None:
            out["form"] = self.form
        return out


@dataclass(frozen=True, slots=True)
class CareWindow:
    """A restriction in force over a concrete window, caused by one session."""

    code: str
    text: str
    kind: str
    phase: str
    window: TimeRange


@dataclass(frozen=True, slots=True)
class CareStretch:
    """One restriction in force without a break over `window`: the care windows of one or
    more sessions that overlap or touch, pre-care and aftercare alike (`care_stretches`).
    `sessions`: the caller's keys of the sessions whose windows it joins, first cause first;
    `phases`: "before" and/or "after"."""

    code: str
    text: str
    kind: str
    window: TimeRange
    phases: frozenset[str]
    sessions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """`flags`: violations staff booked past (`Violation.staff_may_book`), which do not
    refuse the booking; its sessions go on the attention list with them."""

    violations: tuple[Violation, ...]
    slots: tuple[Slot, ...]
    flags: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass(frozen=True, slots=True)
class PlanResult:
    """A plan (or why there is none). `notes` tell the client about a plan that is later than
    they may expect and why (e.g. it cannot finish in this season), without refusing it."""

    slots: tuple[Slot, ...]
    violations: tuple[Violation, ...]
    notes: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.slots) and not self.violations


Rules = TypeVar("Rules", "CourseRules", "ProcedureRules")

# Equal rules as one object. The engine's caches are keyed by course rules (care windows,
# restriction sentences, a book's days); a look-up compares the key it finds with the one it
# is given, which is a pointer comparison for the same object but a walk through every nested
# field (about 1.5 microseconds) for an equal copy. Each read of the catalogue makes copies.
_INTERNED: dict[object, object] = {}
_INTERNED_MAX = 4096  # distinct rule sets a process may meet (each catalogue edit makes one)


def interned(rules: Rules) -> Rules:
    """The first equal course or procedure rules this process met, else `rules` itself."""
    found = _INTERNED.get(rules)
    if found is None:
        if len(_INTERNED) >= _INTERNED_MAX:
            _INTERNED.clear()
        found = _INTERNED[rules] = rules
    return found  # type: ignore[return-value]
