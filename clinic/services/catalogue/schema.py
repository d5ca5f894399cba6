"""The catalogue file (API.md) as pydantic models: what a valid file holds, and every error in
an invalid one, each with its JSON path (`courses[2].min_interval_days`) and a sentence a
clinic admin understands. Nothing here touches the database: `apply` passes in the codes it
holds.

Decisions the contract leaves to us:
- Unknown keys are refused (`unknown_field`), at any depth: a misspelt `"precare"` silently
  ignored would drop a safety rule, so a typo must stop the import.
- Nothing is coerced: `"3"` is not a number of sessions, and a price is text (`"85.00"`), as
  a JSON number would arrive already rounded to a float.
- `months` omitted means all year; an empty list is refused (it would mean "never").
- A code a record names (a course's procedure, a care rule's restriction, a procedure's device
  kind) must be declared in the file or be in the database already. A record with other
  errors still declares its code, so that one typo does not bring a cascade of "unknown" errors.

Each value is checked by one small validator that raises `PydanticCustomError(code, sentence)`;
pydantic's own errors about the file's structure (a missing or unknown key, not an object, not
a list) get our codes and sentences in `_error`. A check over several values (an interval's
order, min <= max, a repeat or an overlap in a list) looks at those that are valid, so that one
bad value hides no other error: every error is listed at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, TypeGuard, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from clinic.models import RESTRICTION_KINDS, months_to_mask
from clinic.services.errors import InvalidData

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECTIONS = ("clinic", "restrictions", "rooms", "devices", "procedures", "courses", "practitioners")

MAX_INTERVAL_DAYS = 3650
MAX_CARE_HOURS = 8760
MAX_LOOKBACK_DAYS = 3650

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PRICE_RE = re.compile(r"^\d{1,8}(\.\d{1,2})?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Interval = tuple[int, time, time]  # weekday (0 = Monday), start, end
Error = dict[str, str]  # {"code", "message", "field"}: one entry of InvalidData.errors
Loc = tuple[int | str, ...]
Found = list[tuple[Loc, str, str]]  # errors as (path inside the value checked, code, sentence)

T = TypeVar("T")
_Point = TypeVar("_Point", time, date)


@dataclass(frozen=True, slots=True)
class Known:
    """Codes a file may refer to: those in the database, and those the file declares."""

    restrictions: frozenset[str] = frozenset()
    procedures: frozenset[str] = frozenset()
    device_kinds: frozenset[str] = frozenset()

    def __or__(self, other: Known) -> Known:
        return Known(
            self.restrictions | other.restrictions,
            self.procedures | other.procedures,
            self.device_kinds | other.device_kinds,
        )


# --- errors ----------------------------------------------------------------------------------


def _errors(found: Found) -> ValidationError:
    """Errors at places inside the value being checked, for checks that see a whole list or
    week at once (repeats, overlaps); pydantic puts the value's own path in front."""
    return ValidationError.from_exception_data(
        "catalogue",
        [
            InitErrorDetails(type=PydanticCustomError(code, message), loc=loc, input=None)
            for loc, code, message in found
        ],
    )


# Pydantic's errors about the file's structure, in our codes and words; {key} is the key the
# error is about. Every other error a file can cause is one of ours (PydanticCustomError).
_STRUCTURE = {
    "missing": ("required", "{key!r} is required."),
    "extra_forbidden": ("unknown_field", "Unknown field {key!r}."),
    "model_type": ("wrong_type", "Expected an object."),
    "model_attributes_type": ("wrong_type", "Expected an object."),
    "dict_type": ("wrong_type", "Expected an object."),
    "list_type": ("wrong_type", "Expected a list."),
}


def _path(loc: Loc) -> str:
    """('courses', 2, 'aftercare', 0, 'hours') as 'courses[2].aftercare[0].hours'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else part
    return path or "$"


def _error(e: ErrorDetails) -> Error:
    code, message = e["type"], e["msg"]
    if code in _STRUCTURE:
        code, template = _STRUCTURE[code]
        message = template.format(key=e["loc"][-1] if e["loc"] else "")
    return {"code": code, "message": message, "field": _path(e["loc"])}


# --- one value -------------------------------------------------------------------------------


def is_code(value: object, max_len: int = 60) -> TypeGuard[str]:
    """Whether `value` is a valid code (what `Code` accepts)."""
    return isinstance(value, str) and bool(_CODE_RE.match(value)) and len(value) <= max_len


def _code(value: object, max_len: int = 60) -> str:
    if not isinstance(value, str) or not _CODE_RE.match(value):
        raise PydanticCustomError(
            "bad_code",
            "A code is letters, digits, '_', '.' or '-', starting with a letter or digit.",
        )
    if len(value) > max_len:
        raise PydanticCustomError("too_long", f"At most {max_len} characters.")
    return value


def _short_code(value: object) -> str:
    return _code(value, max_len=40)


def _code_or_null(value: object) -> str | None:
    return None if value is None else _code(value)


def _text(max_len: int) -> PlainValidator:
    def check(value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise PydanticCustomError("wrong_type", "Expected a non-empty text.")
        if len(value) > max_len:
            raise PydanticCustomError("too_long", f"At most {max_len} characters.")
        return value

    return PlainValidator(check)


def _whole_number(value: object, what: str, lo: int, hi: int) -> int:
    # bool is an int to Python, never to a clinic admin.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("wrong_type", f"{what} must be a whole number.")
    if not lo <= value <= hi:
        raise PydanticCustomError("out_of_range", f"{what} must be from {lo} to {hi}; got {value}.")
    return value


def _whole(what: str, lo: int, hi: int, *, nullable: bool = False) -> PlainValidator:
    """A whole number from lo to hi (or null, if `nullable`); `what` names it in the error,
    as in "Number of sessions must be from 1 to 30; got 0."."""

    def check(value: object) -> int | None:
        return None if nullable and value is None else _whole_number(value, what, lo, hi)

    return PlainValidator(check)


def _clock(value: object) -> time:
    match = _TIME_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise PydanticCustomError(
            "bad_time", f"Expected a time as HH:MM (00:00 to 23:59); got {value!r}."
        )
    return time(int(match.group(1)), int(match.group(2)))


def _day(value: object) -> date:
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:  # 2027-02-30
            pass
    raise PydanticCustomError("bad_date", f"Expected a date as YYYY-MM-DD; got {value!r}.")


def _timezone(value: object) -> str:
    try:
        if not isinstance(value, str) or not value:
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "bad_timezone",
            f"Unknown time zone {value!r}; use an IANA name like 'Europe/Berlin'.",
        ) from None
    return value


def _divides_an_hour(minutes: int) -> int:
    if 60 % minutes:
        raise PydanticCustomError(
            "bad_slot_minutes",
            "Slot length must divide an hour evenly (5, 10, 12, 15, 20, 30 or 60 minutes).",
        )
    return minutes


def _restriction_kind(value: object) -> str:
    if not isinstance(value, str) or value not in RESTRICTION_KINDS:
        raise PydanticCustomError(
            "bad_kind", f"Kind must be one of {', '.join(RESTRICTION_KINDS)}; got {value!r}."
        )
    return value


def _price(value: object) -> Decimal:
    if not isinstance(value, str) or not _PRICE_RE.match(value):
        raise PydanticCustomError(
            "bad_price", 'The price is a non-negative amount written as text, like "85.00".'
        )
    return Decimal(value).quantize(Decimal("0.01"))


def _email(value: object) -> str:
    # Lower-case: practitioners are matched by email case-insensitively.
    email = value.strip() if isinstance(value, str) else ""
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise PydanticCustomError("bad_email", f"Not an email address: {value!r}.")
    return email.lower()


def _not_null(value: object) -> object:
    # The section may be left out, but not given as null.
    if value is None:
        raise PydanticCustomError("wrong_type", "Expected an object.")
    return value


def _known(section: str, code: str, sentence: str) -> AfterValidator:
    """A reference to a code of `section` (a field of `Known`) that must exist; `{ref}` in
    `sentence` is the code."""

    def check(ref: str | None, info: ValidationInfo) -> str | None:
        if not isinstance(info.context, Known):
            raise TypeError("Read a catalogue file with read_catalogue(), which knows the codes.")
        if ref is not None and ref not in getattr(info.context, section):
            raise PydanticCustomError(code, sentence.format(ref=repr(ref)))
        return ref

    return AfterValidator(check)


Code = Annotated[str, PlainValidator(_code)]
Name = Annotated[str, _text(120)]
Clock = Annotated[time, PlainValidator(_clock)]
Day = Annotated[date, PlainValidator(_day)]
RestrictionRef = Annotated[
    str,
    PlainValidator(_code),
    _known("restrictions", "unknown_restriction", "Unknown restriction {ref}."),
]
ProcedureRef = Annotated[
    str,
    PlainValidator(_code),
    _known("procedures", "unknown_procedure", "Unknown procedure {ref}."),
]
DeviceKindRef = Annotated[
    str | None,
    PlainValidator(_code_or_null),
    _known(
        "device_kinds", "unknown_device_kind", "No device of kind {ref} in the file or the clinic."
    ),
]


# --- lists -------------------------------------------------------------------------------------

Check = Callable[[list[tuple[int, Any]]], Found]  # over a list's valid items and positions


def _valid_items(
    items: list[Any], validate: Callable[[Any], T], found: Found, at: Loc = ()
) -> list[tuple[int, T]]:
    """The items that `validate` accepts, with their positions; the errors of the others go
    to `found`. `validate` checks one item as a one-item list at `at`, so the item's own
    position is put back into its errors' paths."""
    valid: list[tuple[int, T]] = []
    for i, item in enumerate(items):
        try:
            valid.append((i, validate(item)))
        except ValidationError as exc:
            found += [
                ((*at, i, *e["loc"][len(at) + 1 :]), e["type"], e["msg"]) for e in exc.errors()
            ]
    return valid


def _each(check: Check) -> WrapValidator:
    """A list checked item by item, then `check` over the valid items: one bad item hides
    neither the other items' errors nor what `check` finds among them (a repeat, an overlap)."""

    def validate(value: object, handler: ValidatorFunctionWrapHandler) -> list[Any]:
        if not isinstance(value, list):
            return list(handler(value))  # pydantic's own refusal: "Expected a list."
        found: Found = []
        valid = _valid_items(value, lambda item: handler([item])[0], found)
        found += check(valid)
        if found:
            raise _errors(sorted(found, key=lambda f: f[0][:1]))  # in file order
        return [item for _, item in valid]

    return WrapValidator(validate)


def _no_repeats(show: Callable[[Any], str] = repr, *, key: str | None = None) -> Check:
    """An item (or an item's `key` field) given twice: the later one is named, as
    "'no_uv' appears twice."."""

    def check(valid: list[tuple[int, Any]]) -> Found:
        seen: set[Hashable] = set()
        found: Found = []
        for i, item in valid:
            value = item if key is None else getattr(item, key)
            if value in seen:
                found.append(
                    (
                        (i,) if key is None else (i, key),
                        "duplicate",
                        f"{show(value)} appears twice.",
                    )
                )
            seen.add(value)
        return found

    return check


def _overlapping(spans: list[tuple[int, tuple[_Point, _Point]]], *, inclusive: bool) -> list[int]:
    """Positions of the spans (position, (start, end)) that overlap another; of each
    overlapping pair the one later in the file is named. `inclusive` spans (whole days)
    overlap when they share an end point."""
    named: set[int] = set()
    reach: tuple[_Point, int] | None = None  # the furthest end so far and its span's position
    for position, (start, end) in sorted(spans, key=lambda x: x[1][0]):
        if reach is not None and (start < reach[0] or (inclusive and start == reach[0])):
            named.add(max(position, reach[1]))
        if reach is None or end > reach[0]:
            reach = (end, position)
    return sorted(named)


def _pair(sentence: str) -> BeforeValidator:
    """Two values in a JSON list (strict pydantic reads a tuple only from a tuple)."""

    def check(value: object) -> object:
        if not isinstance(value, list) or len(value) != 2:
            raise PydanticCustomError("wrong_type", sentence)
        return (value[0], value[1])

    return BeforeValidator(check)


def _opens_before_it_closes(span: tuple[time, time]) -> tuple[time, time]:
    if span[1] <= span[0]:
        raise PydanticCustomError("bad_interval", "The interval ends at or before it starts.")
    return span


def _week(
    value: object, handler: ValidatorFunctionWrapHandler
) -> dict[str, list[tuple[time, time]]]:
    """{"mon": [["09:00", "17:00"], ...], ...}: known weekdays, each with valid intervals that
    do not overlap. An unknown weekday is one error, whatever it holds."""
    if not isinstance(value, dict):
        raise PydanticCustomError("wrong_type", "Expected an object with weekday keys mon..sun.")

    def one_span(day: str, span: object) -> tuple[time, time]:
        valid: tuple[time, time] = handler({day: [span]})[day][0]
        return valid

    week: dict[str, list[tuple[time, time]]] = {}
    found: Found = []
    for day, spans in value.items():
        if day not in WEEKDAYS:
            found.append(((day,), "unknown_weekday", f"Unknown weekday {day!r}; use mon..sun."))
        elif not isinstance(spans, list):
            found.append(((day,), "wrong_type", "Expected a list."))
        else:
            valid = _valid_items(spans, partial(one_span, day), found, at=(day,))
            found += [
                ((day, i), "overlap", f"Overlaps another interval on {day}.")
                for i in _overlapping(valid, inclusive=False)
            ]
            week[day] = [span for _, span in valid]
    if found:
        raise _errors(found)
    return week


def _starts_before_it_ends(span: tuple[date, date]) -> tuple[date, date]:
    if span[1] < span[0]:
        raise PydanticCustomError("bad_interval", "The time off ends before it starts.")
    return span


def _no_overlapping_days_off(valid: list[tuple[int, Any]]) -> Found:
    return [
        ((i,), "overlap", "Overlaps another period of time off.")
        for i in _overlapping(valid, inclusive=True)
    ]


def _some_months(months: list[int]) -> list[int]:
    if not months:
        raise PydanticCustomError(
            "out_of_range", "Give at least one month, or leave 'months' out for all year."
        )
    return months


ClockSpan = Annotated[
    tuple[Clock, Clock],
    _pair('Expected a pair ["HH:MM", "HH:MM"].'),
    AfterValidator(_opens_before_it_closes),
]
Week = Annotated[dict[str, list[ClockSpan]], WrapValidator(_week)]
DaySpan = Annotated[
    tuple[Day, Day],
    _pair('Expected a pair ["YYYY-MM-DD", "YYYY-MM-DD"].'),
    AfterValidator(_starts_before_it_ends),
]
Month = Annotated[int, _whole("A month", 1, 12)]


def intervals(week: Mapping[str, list[tuple[time, time]]]) -> list[Interval]:
    """A `Week` as sorted (weekday, start, end), the way the tables hold hours."""
    return sorted((WEEKDAYS.index(day), s, e) for day, spans in week.items() for s, e in spans)


# --- records ---------------------------------------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Policy(_Record):
    client_change_notice_hours: Annotated[
        int, _whole("Notice for client changes (hours)", 0, 8760)
    ] = 24
    horizon_days: Annotated[int, _whole("Booking horizon (days)", 1, 1100)] = 365


class ClinicEntry(_Record):
    name: Name
    timezone: Annotated[str, PlainValidator(_timezone)]
    slot_minutes: Annotated[
        int, _whole("Slot length", 5, 120), AfterValidator(_divides_an_hour)
    ] = 15
    opening_hours: Week = Field(default_factory=dict)
    holidays: Annotated[list[Day], _each(_no_repeats(lambda d: repr(d.isoformat())))] = Field(
        default_factory=list
    )
    policy: Policy = Field(default_factory=Policy)


class RestrictionEntry(_Record):
    code: Code
    text: Annotated[str, _text(300)]
    kind: Annotated[str, PlainValidator(_restriction_kind)]


class RoomEntry(_Record):
    code: Annotated[str, PlainValidator(_short_code)]
    name: Name


class DeviceEntry(_Record):
    code: Annotated[str, PlainValidator(_short_code)]
    kind: Code
    name: Name


class ProcedureEntry(_Record):
    code: Code
    name: Name
    duration_min: Annotated[int, _whole("Duration (minutes)", 1, 720)]
    buffer_min: Annotated[int, _whole("Buffer (minutes)", 0, 240)] = 0
    qualification: Code
    device_kind: DeviceKindRef = None
    blocked_by: Annotated[list[RestrictionRef], _each(_no_repeats())] = Field(default_factory=list)
    price: Annotated[Decimal, PlainValidator(_price)] = Decimal("0.00")


class CareRule(_Record):
    restriction: RestrictionRef
    hours: Annotated[int, _whole("Hours", 1, MAX_CARE_HOURS)]


class Contraindication(_Record):
    code: Code
    lookback_days: Annotated[int, _whole("Look-back (days)", 0, MAX_LOOKBACK_DAYS)]


class CourseEntry(_Record):
    code: Code
    name: Name
    procedure: ProcedureRef
    sessions: Annotated[int, _whole("Number of sessions", 1, 30)]
    min_interval_days: Annotated[int, _whole("Minimum interval (days)", 0, MAX_INTERVAL_DAYS)] = 0
    max_interval_days: Annotated[
        int | None, _whole("Maximum interval (days)", 0, MAX_INTERVAL_DAYS, nullable=True)
    ] = None
    aftercare: Annotated[list[CareRule], _each(_no_repeats(key="restriction"))] = Field(
        default_factory=list
    )
    precare: Annotated[list[CareRule], _each(_no_repeats(key="restriction"))] = Field(
        default_factory=list
    )
    contraindications: Annotated[list[Contraindication], _each(_no_repeats(key="code"))] = Field(
        default_factory=list
    )
    months: Annotated[
        list[Month], _each(_no_repeats(lambda m: f"Month {m}")), AfterValidator(_some_months)
    ] = Field(default_factory=lambda: list(range(1, 13)))

    @field_validator("max_interval_days")
    @classmethod
    def _not_below_the_minimum(cls, max_days: int | None, info: ValidationInfo) -> int | None:
        # Fields are checked in order: the minimum is in `info.data` if it was valid.
        min_days = info.data.get("min_interval_days")
        if max_days is not None and min_days is not None and max_days < min_days:
            raise PydanticCustomError(
                "max_below_min",
                f"The maximum interval ({max_days} days) is shorter than the minimum "
                f"({min_days} days).",
            )
        return max_days

    @property
    def months_mask(self) -> int:
        return months_to_mask(self.months)


class PractitionerEntry(_Record):
    email: Annotated[str, PlainValidator(_email)]
    name: Name
    qualifications: Annotated[list[Code], _each(_no_repeats())] = Field(default_factory=list)
    hours: Week = Field(default_factory=dict)
    time_off: Annotated[list[DaySpan], _each(_no_overlapping_days_off)] = Field(
        default_factory=list
    )


class CatalogueFile(_Record):
    """A valid catalogue file; a section left out is an empty list (or no `clinic`)."""

    clinic: Annotated[ClinicEntry | None, BeforeValidator(_not_null)] = None
    restrictions: list[RestrictionEntry] = Field(default_factory=list)
    rooms: list[RoomEntry] = Field(default_factory=list)
    devices: list[DeviceEntry] = Field(default_factory=list)
    procedures: list[ProcedureEntry] = Field(default_factory=list)
    courses: list[CourseEntry] = Field(default_factory=list)
    practitioners: list[PractitionerEntry] = Field(default_factory=list)

    @property
    def sections(self) -> list[str]:
        """The sections the file has; the others leave that part of the clinic untouched."""
        return [name for name in SECTIONS if name in self.model_fields_set]


# --- the whole file --------------------------------------------------------------------------


def _declared(data: Mapping[str, Any]) -> tuple[Known, list[Error]]:
    """What the raw file's records declare, whatever else is wrong with them: the codes that
    others may refer to, and a code (a practitioner's email) that a section gives twice."""
    declared: dict[str, set[str]] = {"restrictions": set(), "procedures": set(), "devices": set()}
    errors: list[Error] = []
    for section in SECTIONS[1:]:
        items = data.get(section)
        key = "email" if section == "practitioners" else "code"
        seen: set[str] = set()
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            if isinstance(item.get(key), str):
                value = item[key].strip().lower() if key == "email" else item[key]
                if value in seen:
                    errors.append(
                        {
                            "code": "duplicate",
                            "message": f"{value!r} appears twice.",
                            "field": f"{section}[{i}].{key}",
                        }
                    )
                seen.add(value)
            code = item.get("kind" if section == "devices" else "code")
            if section in declared and is_code(code):
                declared[section].add(code)
    known = Known(
        frozenset(declared["restrictions"]),
        frozenset(declared["procedures"]),
        frozenset(declared["devices"]),
    )
    return known, errors


def read_catalogue(data: object, known: Known) -> CatalogueFile:
    """The file as validated models, or `InvalidData` listing every error with its path.

    `known` holds the codes in the database that the file may refer to besides its own.
    """
    declared, errors = _declared(data) if isinstance(data, dict) else (Known(), [])
    try:
        file = CatalogueFile.model_validate(data, context=known | declared)
    except ValidationError as exc:
        raise InvalidData([_error(e) for e in exc.errors(include_url=False)] + errors) from exc
    if errors:
        raise InvalidData(errors)
    return file


def check_courses_bookable(
    file: CatalogueFile, blocked_by: Mapping[str, set[str]]
) -> list[dict[str, str]]:
    """A course whose own aftercare blocks its next session beyond the longest allowed
    interval can never be booked in full: `InvalidData`. One that blocks it beyond the
    shortest only gets a warning (its real minimum is longer than it says); the warnings are
    returned. `blocked_by` holds, per procedure in the database, the restrictions that block
    it; the file's procedures replace theirs."""
    blocked = dict(blocked_by) | {p.code: set(p.blocked_by) for p in file.procedures}
    errors: list[Error] = []
    warnings: list[dict[str, str]] = []
    for i, c in enumerate(file.courses):
        if c.sessions < 2:
            continue
        for care in c.aftercare:
            if care.restriction not in blocked.get(c.procedure, set()):
                continue
            path = f"courses[{i}].aftercare"
            if c.max_interval_days is not None and care.hours > c.max_interval_days * 24:
                errors.append(
                    {
                        "code": "course_unbookable",
                        "message": f"Each session puts {care.restriction!r} in force for "
                        f"{care.hours} hours, which blocks the next session beyond the maximum "
                        f"interval of {c.max_interval_days} days.",
                        "field": path,
                    }
                )
            elif care.hours > c.min_interval_days * 24:
                warnings.append(
                    {
                        "code": "effective_minimum_longer",
                        "field": path,
                        "message": f"{care.restriction!r} lasts {care.hours} hours and blocks "
                        "this course's own procedure, so sessions can be no closer than that.",
                    }
                )
    if errors:
        raise InvalidData(errors)
    return warnings
