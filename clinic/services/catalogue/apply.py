"""The catalogue file (API.md): import a clinic's whole set-up, and export it again.

Import validates the entire file before it writes anything and then writes it in one
transaction. Decisions the contract leaves to us, kept in one place:

- Unknown keys are refused (`unknown_field`), at any depth: a misspelt `"precare"` silently
  ignored would drop a safety rule, so a typo must stop the import.
- Records are matched by `code` (practitioners by `email`, case-insensitively). Records the
  file does not mention are left as they are; a record the file does mention becomes live
  again (`retired = False` / `active = True`), because the file says it exists.
- For the records it mentions, the file's lists replace the stored ones: opening hours and
  holidays (when `clinic` is present), a procedure's `blocked_by`, a course's aftercare,
  pre-care and contraindications, a practitioner's qualifications, hours and time off.
  Rows that are already right are kept (with their ids and notes), so re-importing the
  same file changes nothing.
- A top-level section that is absent leaves that part of the database untouched.
- `months` omitted means all year; an empty list is refused (it would mean "never").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from clinic.models import (
    ALL_MONTHS_MASK,
    RESTRICTION_KINDS,
    ClinicSettings,
    Course,
    CourseContraindication,
    CourseRestriction,
    Device,
    Holiday,
    OpeningHours,
    Practitioner,
    PractitionerQualification,
    Procedure,
    Restriction,
    Room,
    TimeOff,
    User,
    WorkingHours,
    months_to_mask,
)
from clinic.services.db import transaction
from clinic.services.errors import InvalidData

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECTIONS = ("clinic", "restrictions", "rooms", "devices", "procedures", "courses", "practitioners")

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PRICE_RE = re.compile(r"^\d{1,8}(\.\d{1,2})?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

MAX_INTERVAL_DAYS = 3650
MAX_CARE_HOURS = 8760
MAX_LOOKBACK_DAYS = 3650

Interval = tuple[int, time, time]  # weekday (0 = Monday), start, end

T = TypeVar("T")


# --- what the file says, once validated -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ClinicSpec:
    name: str
    timezone: str
    slot_minutes: int
    opening_hours: list[Interval]
    holidays: list[date]
    notice_hours: int
    horizon_days: int


@dataclass(frozen=True, slots=True)
class _RestrictionSpec:
    code: str
    text: str
    kind: str


@dataclass(frozen=True, slots=True)
class _RoomSpec:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class _DeviceSpec:
    code: str
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class _ProcedureSpec:
    code: str
    name: str
    duration_min: int
    buffer_min: int
    qualification: str
    device_kind: str | None
    blocked_by: list[str]
    price: Decimal


@dataclass(frozen=True, slots=True)
class _CourseSpec:
    code: str
    name: str
    procedure: str
    sessions: int
    min_interval_days: int
    max_interval_days: int | None
    aftercare: list[tuple[str, int]]
    precare: list[tuple[str, int]]
    contraindications: list[tuple[str, int]]
    months_mask: int


@dataclass(frozen=True, slots=True)
class _PractitionerSpec:
    email: str
    name: str
    qualifications: list[str]
    hours: list[Interval]
    time_off: list[tuple[date, date]]


@dataclass(slots=True)
class _Spec:
    clinic: _ClinicSpec | None = None
    restrictions: list[_RestrictionSpec] | None = None
    rooms: list[_RoomSpec] | None = None
    devices: list[_DeviceSpec] | None = None
    procedures: list[_ProcedureSpec] | None = None
    courses: list[_CourseSpec] | None = None
    practitioners: list[_PractitionerSpec] | None = None


# --- the report --------------------------------------------------------------------------


@dataclass(slots=True)
class SectionCount:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class ImportReport:
    """What an import did, per section, and what it noticed without refusing."""

    counts: dict[str, SectionCount] = field(default_factory=dict)
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values())

    def count(self, section: str, outcome: str) -> None:
        c = self.counts.setdefault(section, SectionCount())
        setattr(c, outcome, getattr(c, outcome) + 1)

    def summary(self) -> list[str]:
        return [
            f"{name}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
            for name, c in self.counts.items()
        ]


# --- validation ----------------------------------------------------------------------------


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Reader:
    """Reads the raw JSON into specs, collecting every error with its path."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[dict[str, str]] = []
        # Codes the file declares, even on records with other errors, so that one bad
        # record does not also produce a cascade of "unknown reference" errors.
        self.declared: dict[str, set[str]] = {
            "restrictions": set(),
            "procedures": set(),
            "device_kinds": set(),
        }

    def error(self, path: str, code: str, message: str) -> None:
        self.errors.append({"code": code, "message": message, "field": path or "$"})

    # primitives; each returns None when the value is missing or wrong (and says so)

    def obj(
        self, value: Any, path: str, *, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, "wrong_type", "Expected an object.")
            return None
        for key in value:
            if key not in required and key not in optional:
                self.error(_at(path, str(key)), "unknown_field", f"Unknown field {key!r}.")
        for key in required:
            if key not in value:
                self.error(_at(path, key), "required", f"{key!r} is required.")
        return value

    def list_of(self, value: Any, path: str) -> list[Any] | None:
        if not isinstance(value, list):
            self.error(path, "wrong_type", "Expected a list.")
            return None
        return value

    def unique_items(self, value: Any, path: str, parse: Callable[[Any, str], T | None]) -> list[T]:
        """A list whose items `parse` reads one by one; an item given twice is an error."""
        out: list[T] = []
        for i, raw in enumerate(self.list_of(value, path) or []):
            item = parse(raw, f"{path}[{i}]")
            if item is not None and item in out:
                self.error(f"{path}[{i}]", "duplicate", f"{raw!r} appears twice.")
            elif item is not None:
                out.append(item)
        return out

    def text(self, value: Any, path: str, *, max_len: int) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.error(path, "wrong_type", "Expected a non-empty text.")
            return None
        if len(value) > max_len:
            self.error(path, "too_long", f"At most {max_len} characters.")
            return None
        return value

    def code(self, value: Any, path: str, *, max_len: int = 60) -> str | None:
        if not isinstance(value, str) or not _CODE_RE.match(value):
            self.error(
                path,
                "bad_code",
                "A code is letters, digits, '_', '.' or '-', starting with a letter or digit.",
            )
            return None
        if len(value) > max_len:
            self.error(path, "too_long", f"At most {max_len} characters.")
            return None
        return value

    def integer(self, value: Any, path: str, *, lo: int, hi: int, what: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, "wrong_type", f"{what} must be a whole number.")
            return None
        if not lo <= value <= hi:
            self.error(path, "out_of_range", f"{what} must be from {lo} to {hi}; got {value}.")
            return None
        return value

    def clock(self, value: Any, path: str) -> time | None:
        match = _TIME_RE.match(value) if isinstance(value, str) else None
        if match is None:
            self.error(
                path, "bad_time", f"Expected a time as HH:MM (00:00 to 23:59); got {value!r}."
            )
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def day(self, value: Any, path: str) -> date | None:
        if isinstance(value, str) and _DATE_RE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.error(path, "bad_date", f"Expected a date as YYYY-MM-DD; got {value!r}.")
        return None

    def week(self, value: Any, path: str) -> list[Interval] | None:
        """{"mon": [["09:00", "17:00"], ...], ...}: known weekdays, valid, non-overlapping."""
        if not isinstance(value, dict):
            self.error(path, "wrong_type", "Expected an object with weekday keys mon..sun.")
            return None
        before = len(self.errors)
        out: list[Interval] = []
        for key, intervals in value.items():
            kpath = _at(path, str(key))
            if key not in WEEKDAYS:
                self.error(kpath, "unknown_weekday", f"Unknown weekday {key!r}; use mon..sun.")
                continue
            items = self.list_of(intervals, kpath)
            if items is None:
                continue
            parsed: list[tuple[time, time, str]] = []
            for i, pair in enumerate(items):
                ipath = f"{kpath}[{i}]"
                if not isinstance(pair, list) or len(pair) != 2:
                    self.error(ipath, "wrong_type", 'Expected a pair ["HH:MM", "HH:MM"].')
                    continue
                start = self.clock(pair[0], f"{ipath}[0]")
                end = self.clock(pair[1], f"{ipath}[1]")
                if start is None or end is None:
                    continue
                if end <= start:
                    self.error(ipath, "bad_interval", "The interval ends at or before it starts.")
                    continue
                parsed.append((start, end, ipath))
            for ipath in _overlapping(parsed, inclusive=False):
                self.error(ipath, "overlap", f"Overlaps another interval on {key}.")
            parsed.sort()
            out += [(WEEKDAYS.index(key), s, e) for s, e, _ in parsed]
        return None if len(self.errors) > before else sorted(out)

    # sections

    def read(self, data: Any) -> _Spec:
        spec = _Spec()
        root = self.obj(data, "", required=(), optional=SECTIONS)
        if root is None:
            return spec
        if "clinic" in root:
            spec.clinic = self.clinic(root["clinic"], "clinic")
        for name, reader in (
            ("restrictions", self.restriction),
            ("rooms", self.room),
            ("devices", self.device),
            ("procedures", self.procedure),
            ("courses", self.course),
            ("practitioners", self.practitioner),
        ):
            if name in root:
                setattr(spec, name, self.section(root[name], name, reader))
        return spec

    def section(self, value: Any, name: str, reader: Any) -> list[Any]:
        items = self.list_of(value, name)
        if items is None:
            return []
        key_name = "email" if name == "practitioners" else "code"
        seen: set[str] = set()
        out = []
        for i, item in enumerate(items):
            path = f"{name}[{i}]"
            before = len(self.errors)
            parsed = reader(item, path)
            if isinstance(item, dict) and isinstance(item.get(key_name), str):
                key = item[key_name].strip().lower() if key_name == "email" else item[key_name]
                if key in seen:
                    self.error(_at(path, key_name), "duplicate", f"{key!r} appears twice.")
                seen.add(key)
            if parsed is not None and len(self.errors) == before:
                out.append(parsed)
        return out

    def clinic(self, value: Any, path: str) -> _ClinicSpec | None:
        o = self.obj(
            value,
            path,
            required=("name", "timezone"),
            optional=("slot_minutes", "opening_hours", "holidays", "policy"),
        )
        if o is None:
            return None
        before = len(self.errors)
        name = self.text(o["name"], _at(path, "name"), max_len=120) if "name" in o else None
        tz = None
        if "timezone" in o:
            tz = o["timezone"]
            try:
                if not isinstance(tz, str) or not tz:
                    raise ValueError(tz)
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                self.error(
                    _at(path, "timezone"),
                    "bad_timezone",
                    f"Unknown time zone {tz!r}; use an IANA name like 'Europe/Berlin'.",
                )
                tz = None
        slot: int | None = 15
        if "slot_minutes" in o:
            slot = self.integer(
                o["slot_minutes"], _at(path, "slot_minutes"), lo=5, hi=120, what="Slot length"
            )
            if slot is not None and 60 % slot:
                self.error(
                    _at(path, "slot_minutes"),
                    "bad_slot_minutes",
                    "Slot length must divide an hour evenly (5, 10, 12, 15, 20, 30 or 60 minutes).",
                )
        hours: list[Interval] | None = []
        if "opening_hours" in o:
            hours = self.week(o["opening_hours"], _at(path, "opening_hours"))
        holidays: list[date] = []
        if "holidays" in o:
            holidays = self.unique_items(o["holidays"], _at(path, "holidays"), self.day)
        notice: int | None = 24
        horizon: int | None = 365
        if "policy" in o:
            p = self.obj(
                o["policy"],
                _at(path, "policy"),
                required=(),
                optional=("client_change_notice_hours", "horizon_days"),
            )
            if p is not None and "client_change_notice_hours" in p:
                notice = self.integer(
                    p["client_change_notice_hours"],
                    f"{path}.policy.client_change_notice_hours",
                    lo=0,
                    hi=8760,
                    what="Notice for client changes (hours)",
                )
            if p is not None and "horizon_days" in p:
                horizon = self.integer(
                    p["horizon_days"],
                    f"{path}.policy.horizon_days",
                    lo=1,
                    hi=1100,
                    what="Booking horizon (days)",
                )
        if len(self.errors) > before or name is None or tz is None or hours is None:
            return None
        assert slot is not None and notice is not None and horizon is not None
        return _ClinicSpec(name, tz, slot, hours, sorted(holidays), notice, horizon)

    def restriction(self, value: Any, path: str) -> _RestrictionSpec | None:
        o = self.obj(value, path, required=("code", "text", "kind"), optional=())
        if o is None:
            return None
        code = self.code(o.get("code"), _at(path, "code")) if "code" in o else None
        if code:
            self.declared["restrictions"].add(code)
        text = self.text(o["text"], _at(path, "text"), max_len=300) if "text" in o else None
        kind = o.get("kind")
        if "kind" in o and kind not in RESTRICTION_KINDS:
            self.error(
                _at(path, "kind"),
                "bad_kind",
                f"Kind must be one of {', '.join(RESTRICTION_KINDS)}; got {kind!r}.",
            )
        if code is None or text is None or kind not in RESTRICTION_KINDS:
            return None
        return _RestrictionSpec(code, text, str(kind))

    def room(self, value: Any, path: str) -> _RoomSpec | None:
        o = self.obj(value, path, required=("code", "name"), optional=())
        if o is None:
            return None
        code = self.code(o["code"], _at(path, "code"), max_len=40) if "code" in o else None
        name = self.text(o["name"], _at(path, "name"), max_len=120) if "name" in o else None
        return _RoomSpec(code, name) if code and name else None

    def device(self, value: Any, path: str) -> _DeviceSpec | None:
        o = self.obj(value, path, required=("code", "kind", "name"), optional=())
        if o is None:
            return None
        code = self.code(o["code"], _at(path, "code"), max_len=40) if "code" in o else None
        kind = self.code(o["kind"], _at(path, "kind")) if "kind" in o else None
        if kind:
            self.declared["device_kinds"].add(kind)
        name = self.text(o["name"], _at(path, "name"), max_len=120) if "name" in o else None
        return _DeviceSpec(code, kind, name) if code and kind and name else None

    def procedure(self, value: Any, path: str) -> _ProcedureSpec | None:
        o = self.obj(
            value,
            path,
            required=("code", "name", "duration_min", "qualification"),
            optional=("buffer_min", "device_kind", "blocked_by", "price"),
        )
        if o is None:
            return None
        before = len(self.errors)
        code = self.code(o["code"], _at(path, "code")) if "code" in o else None
        if code:
            self.declared["procedures"].add(code)
        name = self.text(o["name"], _at(path, "name"), max_len=120) if "name" in o else None
        duration = None
        if "duration_min" in o:
            duration = self.integer(
                o["duration_min"],
                _at(path, "duration_min"),
                lo=1,
                hi=720,
                what="Duration (minutes)",
            )
        buffer = 0
        if "buffer_min" in o:
            buffer = (
                self.integer(
                    o["buffer_min"], _at(path, "buffer_min"), lo=0, hi=240, what="Buffer (minutes)"
                )
                or 0
            )
        qualification = None
        if "qualification" in o:
            qualification = self.code(o["qualification"], _at(path, "qualification"))
        device_kind = None
        if o.get("device_kind") is not None:
            device_kind = self.code(o["device_kind"], _at(path, "device_kind"))
        blocked_by: list[str] = []
        if "blocked_by" in o:
            blocked_by = self.unique_items(o["blocked_by"], _at(path, "blocked_by"), self.code)
        price = Decimal("0.00")
        if "price" in o:
            raw_price = o["price"]
            parsed_price = None
            if isinstance(raw_price, str) and _PRICE_RE.match(raw_price):
                try:
                    parsed_price = Decimal(raw_price).quantize(Decimal("0.01"))
                except InvalidOperation:
                    parsed_price = None
            if parsed_price is None:
                self.error(
                    _at(path, "price"),
                    "bad_price",
                    'The price is a non-negative amount written as text, like "85.00".',
                )
            else:
                price = parsed_price
        if len(self.errors) > before or not (code and name and duration and qualification):
            return None
        return _ProcedureSpec(
            code, name, duration, buffer, qualification, device_kind, blocked_by, price
        )

    def care(self, value: Any, path: str) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for i, item in enumerate(self.list_of(value, path) or []):
            ipath = f"{path}[{i}]"
            o = self.obj(item, ipath, required=("restriction", "hours"), optional=())
            if o is None:
                continue
            ref = (
                self.code(o["restriction"], _at(ipath, "restriction"))
                if "restriction" in o
                else None
            )
            hours = None
            if "hours" in o:
                hours = self.integer(
                    o["hours"], _at(ipath, "hours"), lo=1, hi=MAX_CARE_HOURS, what="Hours"
                )
            if ref is not None and any(r == ref for r, _ in out):
                self.error(_at(ipath, "restriction"), "duplicate", f"{ref!r} appears twice.")
            elif ref is not None and hours is not None:
                out.append((ref, hours))
        return out

    def course(self, value: Any, path: str) -> _CourseSpec | None:
        o = self.obj(
            value,
            path,
            required=("code", "name", "procedure", "sessions"),
            optional=(
                "min_interval_days",
                "max_interval_days",
                "aftercare",
                "precare",
                "contraindications",
                "months",
            ),
        )
        if o is None:
            return None
        before = len(self.errors)
        code = self.code(o["code"], _at(path, "code")) if "code" in o else None
        name = self.text(o["name"], _at(path, "name"), max_len=120) if "name" in o else None
        procedure = self.code(o["procedure"], _at(path, "procedure")) if "procedure" in o else None
        sessions = None
        if "sessions" in o:
            sessions = self.integer(
                o["sessions"], _at(path, "sessions"), lo=1, hi=30, what="Number of sessions"
            )
        min_days: int | None = 0
        if "min_interval_days" in o:
            min_days = self.integer(
                o["min_interval_days"],
                _at(path, "min_interval_days"),
                lo=0,
                hi=MAX_INTERVAL_DAYS,
                what="Minimum interval (days)",
            )
        max_days = None
        if o.get("max_interval_days") is not None:
            max_days = self.integer(
                o["max_interval_days"],
                _at(path, "max_interval_days"),
                lo=0,
                hi=MAX_INTERVAL_DAYS,
                what="Maximum interval (days)",
            )
            if max_days is not None and min_days is not None and max_days < min_days:
                self.error(
                    _at(path, "max_interval_days"),
                    "max_below_min",
                    f"The maximum interval ({max_days} days) is shorter than the minimum "
                    f"({min_days} days).",
                )
        aftercare = self.care(o["aftercare"], _at(path, "aftercare")) if "aftercare" in o else []
        precare = self.care(o["precare"], _at(path, "precare")) if "precare" in o else []
        contraindications: list[tuple[str, int]] = []
        cpath = _at(path, "contraindications")
        for i, item in enumerate(
            self.list_of(o["contraindications"], cpath) or [] if "contraindications" in o else []
        ):
            ipath = f"{cpath}[{i}]"
            c = self.obj(item, ipath, required=("code", "lookback_days"), optional=())
            if c is None:
                continue
            ccode = self.code(c["code"], _at(ipath, "code")) if "code" in c else None
            lookback = None
            if "lookback_days" in c:
                lookback = self.integer(
                    c["lookback_days"],
                    _at(ipath, "lookback_days"),
                    lo=0,
                    hi=MAX_LOOKBACK_DAYS,
                    what="Look-back (days)",
                )
            if ccode is not None and any(k == ccode for k, _ in contraindications):
                self.error(_at(ipath, "code"), "duplicate", f"{ccode!r} appears twice.")
            elif ccode is not None and lookback is not None:
                contraindications.append((ccode, lookback))
        mask = ALL_MONTHS_MASK
        if "months" in o:
            months = self.list_of(o["months"], _at(path, "months"))
            if months == []:
                self.error(
                    _at(path, "months"),
                    "out_of_range",
                    "Give at least one month, or leave 'months' out for all year.",
                )
            seen: list[int] = []
            for i, m in enumerate(months or []):
                month = self.integer(m, f"{path}.months[{i}]", lo=1, hi=12, what="A month")
                if month is not None and month in seen:
                    self.error(f"{path}.months[{i}]", "duplicate", f"Month {month} appears twice.")
                elif month is not None:
                    seen.append(month)
            mask = months_to_mask(seen)
        if len(self.errors) > before or not (code and name and procedure and sessions):
            return None
        assert min_days is not None
        return _CourseSpec(
            code,
            name,
            procedure,
            sessions,
            min_days,
            max_days,
            aftercare,
            precare,
            contraindications,
            mask,
        )

    def practitioner(self, value: Any, path: str) -> _PractitionerSpec | None:
        o = self.obj(
            value,
            path,
            required=("email", "name"),
            optional=("qualifications", "hours", "time_off"),
        )
        if o is None:
            return None
        before = len(self.errors)
        email = None
        if "email" in o:
            raw = o["email"]
            if isinstance(raw, str) and _EMAIL_RE.match(raw.strip()) and len(raw.strip()) <= 254:
                email = raw.strip().lower()
            else:
                self.error(_at(path, "email"), "bad_email", f"Not an email address: {raw!r}.")
        name = self.text(o["name"], _at(path, "name"), max_len=120) if "name" in o else None
        qualifications: list[str] = []
        if "qualifications" in o:
            qualifications = self.unique_items(
                o["qualifications"], _at(path, "qualifications"), self.code
            )
        hours: list[Interval] | None = []
        if "hours" in o:
            hours = self.week(o["hours"], _at(path, "hours"))
        time_off: list[tuple[date, date, str]] = []
        if "time_off" in o:
            for i, pair in enumerate(self.list_of(o["time_off"], _at(path, "time_off")) or []):
                ipath = f"{path}.time_off[{i}]"
                if not isinstance(pair, list) or len(pair) != 2:
                    self.error(ipath, "wrong_type", 'Expected a pair ["YYYY-MM-DD", "YYYY-MM-DD"].')
                    continue
                start, end = self.day(pair[0], f"{ipath}[0]"), self.day(pair[1], f"{ipath}[1]")
                if start is None or end is None:
                    continue
                if end < start:
                    self.error(ipath, "bad_interval", "The time off ends before it starts.")
                    continue
                time_off.append((start, end, ipath))
            for ipath in _overlapping(time_off, inclusive=True):
                self.error(ipath, "overlap", "Overlaps another period of time off.")
            time_off.sort()
        if len(self.errors) > before or not (email and name) or hours is None:
            return None
        return _PractitionerSpec(
            email, name, sorted(qualifications), hours, [(s, e) for s, e, _ in time_off]
        )


def _overlapping(spans: list[tuple[Any, Any, str]], *, inclusive: bool) -> list[str]:
    """Paths of the spans (start, end, path), in file order, that overlap another; of each
    overlapping pair the one later in the file is named. `inclusive` spans (whole days)
    overlap when they share an end point."""
    named: set[int] = set()
    reach: tuple[Any, int] | None = None  # the furthest end so far and its span's position
    for position, (start, end, _) in sorted(enumerate(spans), key=lambda x: x[1][0]):
        if reach is not None and (start < reach[0] or (inclusive and start == reach[0])):
            named.add(max(position, reach[1]))
        if reach is None or end > reach[0]:
            reach = (end, position)
    return [spans[i][2] for i in sorted(named)]


def _check_references(r: _Reader, data: dict[str, Any], spec: _Spec, s: Session) -> None:
    """Codes a record names must exist in the file or in the database."""
    restrictions = r.declared["restrictions"] | set(s.scalars(select(Restriction.code)))
    procedures = r.declared["procedures"] | set(s.scalars(select(Procedure.code)))
    device_kinds = r.declared["device_kinds"] | set(s.scalars(select(Device.kind)))

    for i, p in enumerate(_items(data, "procedures")):
        path = f"procedures[{i}]"
        kind = p.get("device_kind")
        if isinstance(kind, str) and _CODE_RE.match(kind) and kind not in device_kinds:
            r.error(
                _at(path, "device_kind"),
                "unknown_device_kind",
                f"No device of kind {kind!r} in the file or the clinic.",
            )
        for j, ref in enumerate(_list(p.get("blocked_by"))):
            if isinstance(ref, str) and _CODE_RE.match(ref) and ref not in restrictions:
                r.error(
                    f"{path}.blocked_by[{j}]",
                    "unknown_restriction",
                    f"Unknown restriction {ref!r}.",
                )
    for i, c in enumerate(_items(data, "courses")):
        path = f"courses[{i}]"
        ref = c.get("procedure")
        if isinstance(ref, str) and _CODE_RE.match(ref) and ref not in procedures:
            r.error(_at(path, "procedure"), "unknown_procedure", f"Unknown procedure {ref!r}.")
        for phase in ("aftercare", "precare"):
            for j, item in enumerate(_list(c.get(phase))):
                ref = item.get("restriction") if isinstance(item, dict) else None
                if isinstance(ref, str) and _CODE_RE.match(ref) and ref not in restrictions:
                    r.error(
                        f"{path}.{phase}[{j}].restriction",
                        "unknown_restriction",
                        f"Unknown restriction {ref!r}.",
                    )
    if r.errors:
        return
    _check_courses_bookable(r, spec, s)


def _check_courses_bookable(r: _Reader, spec: _Spec, s: Session) -> None:
    """A course whose own aftercare blocks its next session beyond the longest allowed
    interval can never be booked in full; one that blocks it beyond the shortest is only
    warned about (its real minimum is longer than it says)."""
    blocked: dict[str, set[str]] = {
        p.code: {r.code for r in p.blocked_by}
        for p in s.scalars(select(Procedure).options(selectinload(Procedure.blocked_by)))
    }
    for p in spec.procedures or []:
        blocked[p.code] = set(p.blocked_by)
    for i, c in enumerate(spec.courses or []):
        if c.sessions < 2:
            continue
        for restriction, hours in c.aftercare:
            if restriction not in blocked.get(c.procedure, set()):
                continue
            path = f"courses[{i}].aftercare"
            if c.max_interval_days is not None and hours > c.max_interval_days * 24:
                r.error(
                    path,
                    "course_unbookable",
                    f"Each session puts {restriction!r} in force for {hours} hours, which blocks "
                    f"the next session beyond the maximum interval of {c.max_interval_days} days.",
                )
            elif hours > c.min_interval_days * 24:
                r.warnings.append(
                    {
                        "code": "effective_minimum_longer",
                        "field": path,
                        "message": f"{restriction!r} lasts {hours} hours and blocks this course's "
                        f"own procedure, so sessions can be no closer than that.",
                    }
                )


def _items(data: dict[str, Any], section: str) -> list[dict[str, Any]]:
    return [x if isinstance(x, dict) else {} for x in _list(data.get(section))]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- writing -----------------------------------------------------------------------------


def _assign(obj: Any, **values: Any) -> bool:
    """Set only the attributes that differ, so unchanged rows stay clean; True if any did."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _upsert(
    s: Session, model: Any, key: str, value: str, report: ImportReport, section: str, **values: Any
) -> Any:
    row = s.scalar(select(model).where(getattr(model, key) == value))
    if row is None:
        row = model(**{key: value}, **values)
        s.add(row)
        s.flush()
        report.count(section, "created")
        return row
    report.count(section, "updated" if _assign(row, **values) else "unchanged")
    return row


def _apply(s: Session, spec: _Spec, report: ImportReport) -> None:
    if spec.clinic is not None:
        _apply_clinic(s, spec.clinic, report)
    for r in spec.restrictions or []:
        _upsert(
            s,
            Restriction,
            "code",
            r.code,
            report,
            "restrictions",
            text=r.text,
            kind=r.kind,
            retired=False,
        )
    for room in spec.rooms or []:
        _upsert(s, Room, "code", room.code, report, "rooms", name=room.name, active=True)
    for d in spec.devices or []:
        _upsert(s, Device, "code", d.code, report, "devices", kind=d.kind, name=d.name, active=True)
    s.flush()
    restrictions = {r.code: r for r in s.scalars(select(Restriction))}
    for p in spec.procedures or []:
        _apply_procedure(s, p, restrictions, report)
    s.flush()
    procedures = {p.code: p for p in s.scalars(select(Procedure))}
    for c in spec.courses or []:
        _apply_course(s, c, procedures, restrictions, report)
    for pr in spec.practitioners or []:
        _apply_practitioner(s, pr, report)
    s.flush()


def _apply_clinic(s: Session, c: _ClinicSpec, report: ImportReport) -> None:
    settings = s.scalar(select(ClinicSettings).order_by(ClinicSettings.id).limit(1))
    values = {
        "name": c.name,
        "timezone": c.timezone,
        "slot_minutes": c.slot_minutes,
        "client_change_notice_hours": c.notice_hours,
        "horizon_days": c.horizon_days,
    }
    if settings is None:
        s.add(ClinicSettings(**values))
        outcome = "created"
    else:
        if settings.timezone != c.timezone:
            report.warnings.append(
                {
                    "code": "timezone_changed",
                    "field": "clinic.timezone",
                    "message": f"The time zone changes from {settings.timezone} to "
                    f"{c.timezone}; booked times keep their instant, not their wall-clock time.",
                }
            )
        outcome = "updated" if _assign(settings, **values) else "unchanged"

    changed = False
    wanted = set(c.opening_hours)
    for row in s.scalars(select(OpeningHours)):
        key = (row.weekday, row.opens, row.closes)
        if key in wanted:
            wanted.discard(key)
        else:
            s.delete(row)
            changed = True
    for weekday, opens, closes in sorted(wanted):
        s.add(OpeningHours(weekday=weekday, opens=opens, closes=closes))
        changed = True
    days = set(c.holidays)
    for holiday in s.scalars(select(Holiday)):
        if holiday.day in days:
            days.discard(holiday.day)
        else:
            s.delete(holiday)
            changed = True
    for day in sorted(days):
        s.add(Holiday(day=day, name=""))
        changed = True
    if outcome == "unchanged" and changed:
        outcome = "updated"
    report.count("clinic", outcome)


def _apply_procedure(
    s: Session, p: _ProcedureSpec, restrictions: dict[str, Restriction], report: ImportReport
) -> None:
    row = s.scalar(select(Procedure).where(Procedure.code == p.code))
    values = {
        "name": p.name,
        "duration_min": p.duration_min,
        "buffer_min": p.buffer_min,
        "qualification": p.qualification,
        "device_kind": p.device_kind,
        "price": p.price,
        "retired": False,
    }
    if row is None:
        row = Procedure(code=p.code, description="", **values)
        row.blocked_by = [restrictions[code] for code in sorted(p.blocked_by)]
        s.add(row)
        report.count("procedures", "created")
        return
    changed = _assign(row, **values)
    if {r.code for r in row.blocked_by} != set(p.blocked_by):
        row.blocked_by = [restrictions[code] for code in sorted(p.blocked_by)]
        changed = True
    report.count("procedures", "updated" if changed else "unchanged")


def _apply_course(
    s: Session,
    c: _CourseSpec,
    procedures: dict[str, Procedure],
    restrictions: dict[str, Restriction],
    report: ImportReport,
) -> None:
    row = s.scalar(select(Course).where(Course.code == c.code))
    values = {
        "name": c.name,
        "procedure_id": procedures[c.procedure].id,
        "sessions": c.sessions,
        "min_interval_days": c.min_interval_days,
        "max_interval_days": c.max_interval_days,
        "months_mask": c.months_mask,
        "retired": False,
    }
    created = row is None
    if row is None:
        row = Course(code=c.code, **values)
        s.add(row)
        changed = True
    else:
        changed = _assign(row, **values)

    wanted = {("after", r, h) for r, h in c.aftercare} | {("before", r, h) for r, h in c.precare}
    order = [("after", r) for r, _ in c.aftercare] + [("before", r) for r, _ in c.precare]
    hours = {(phase, r): h for phase, r, h in wanted}
    kept: set[tuple[str, str]] = set()
    for care in list(row.care):
        key = (care.phase, care.restriction.code)
        if key not in hours:
            row.care.remove(care)
            changed = True
            continue
        kept.add(key)
        changed |= _assign(care, hours=hours[key])
    for phase, code in order:
        if (phase, code) not in kept:
            row.care.append(
                CourseRestriction(
                    phase=phase, restriction=restrictions[code], hours=hours[(phase, code)]
                )
            )
            changed = True

    lookbacks = dict(c.contraindications)
    for contra in list(row.contraindications):
        if contra.code not in lookbacks:
            row.contraindications.remove(contra)
            changed = True
        else:
            changed |= _assign(contra, lookback_days=lookbacks.pop(contra.code))
    for code, days in sorted(lookbacks.items()):
        row.contraindications.append(CourseContraindication(code=code, lookback_days=days))
        changed = True
    report.count("courses", "created" if created else "updated" if changed else "unchanged")


def _apply_practitioner(s: Session, p: _PractitionerSpec, report: ImportReport) -> None:
    row = s.scalar(select(Practitioner).where(func.lower(Practitioner.email) == p.email))
    created = row is None
    if row is None:
        row = Practitioner(email=p.email, name=p.name, active=True)
        s.add(row)
        changed = True
    else:
        changed = _assign(row, email=p.email, name=p.name, active=True)
    if row.user_id is None:
        # The account may exist before the practitioner (accounts.create_user links the
        # other way round).
        user = s.scalar(
            select(User).where(func.lower(User.email) == p.email, User.role == "practitioner")
        )
        if user is not None:
            row.user = user
            changed = True

    wanted_q = set(p.qualifications)
    for q in list(row.qualifications):
        if q.qualification in wanted_q:
            wanted_q.discard(q.qualification)
        else:
            row.qualifications.remove(q)
            changed = True
    for code in sorted(wanted_q):
        row.qualifications.append(PractitionerQualification(qualification=code))
        changed = True

    wanted_h = set(p.hours)
    for h in list(row.hours):
        key = (h.weekday, h.starts, h.ends)
        if key in wanted_h:
            wanted_h.discard(key)
        else:
            row.hours.remove(h)
            changed = True
    for weekday, starts, ends in sorted(wanted_h):
        row.hours.append(WorkingHours(weekday=weekday, starts=starts, ends=ends))
        changed = True

    wanted_t = set(p.time_off)
    for t in list(row.time_off):
        key_t = (t.start_on, t.end_on)
        if key_t in wanted_t:
            wanted_t.discard(key_t)
        else:
            row.time_off.remove(t)
            changed = True
    for start, end in sorted(wanted_t):
        row.time_off.append(TimeOff(start_on=start, end_on=end, note=""))
        changed = True
    report.count("practitioners", "created" if created else "updated" if changed else "unchanged")


# --- public ------------------------------------------------------------------------------


def _validate(data: Any, s: Session) -> tuple[_Spec, list[dict[str, str]]]:
    """Read and check the whole file against itself and the database; raise `InvalidData`
    listing every error, or return what to write and the warnings."""
    reader = _Reader()
    spec = reader.read(data)
    if isinstance(data, dict):
        _check_references(reader, data, spec, s)
    if reader.errors:
        raise InvalidData(reader.errors)
    return spec, reader.warnings


def import_into(s: Session, data: Any) -> ImportReport:
    """Validate and write inside the caller's transaction (for `load_demo`)."""
    spec, warnings = _validate(data, s)
    report = ImportReport(counts={name: SectionCount() for name in SECTIONS if name in data})
    report.warnings = warnings
    _apply(s, spec, report)
    return report


def import_catalogue(data: dict[str, Any]) -> ImportReport:
    """Import a catalogue file (API.md): every error or nothing written, then one transaction."""
    with transaction() as s:
        return import_into(s, data)
