"""What one value in the catalogue file may be: a code, a name, a whole number in a range, a
time, a date, a week of opening hours, a list without repeats or overlaps. Each is a type for
the models of `schema`, checked by one small validator that refuses with
`PydanticCustomError(code, sentence)`: the code is the one the API and tests know, the
sentence one a clinic admin understands ("Number of sessions must be from 1 to 30; got 0.").

Nothing is coerced: `"3"` is not a number of sessions, and a price is text (`"85.00"`), as a
JSON number would arrive already rounded to a float. A check over several values (an
interval's order, a repeat or an overlap in a list) looks at those that are valid, so that one
bad value hides no other error.
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
    BeforeValidator,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from clinic.models import RESTRICTION_KINDS
from clinic.services.clinical import record_templates
from clinic.services.core import text

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

MAX_INTERVAL_DAYS = 3650
MAX_CARE_HOURS = 8760
MAX_LOOKBACK_DAYS = 3650

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PRICE_RE = re.compile(r"^\d{1,8}(\.\d{1,2})?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Interval = tuple[int, time, time]  # weekday (0 = Monday), start, end
Loc = tuple[int | str, ...]
Found = list[tuple[Loc, str, str]]  # errors as (path inside the value checked, code, sentence)

T = TypeVar("T")
_Point = TypeVar("_Point", time, date)


@dataclass(frozen=True, slots=True)
class Known:
    """Codes a file may refer to: those in the database, and those the file declares. The
    validation context that references (`RestrictionRef` and the like) are checked against."""

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


def _flag(value: object) -> bool:
    # strict: "yes", 1 or "true" are not a clinic's yes.
    if not isinstance(value, bool):
        raise PydanticCustomError("wrong_type", "Expected true or false.")
    return value


def _code_or_null(value: object) -> str | None:
    return None if value is None else _code(value)


def _text(max_len: int) -> PlainValidator:
    """A non-empty text up to `max_len`; one line of plain text (`services.text`)."""

    def check(value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise PydanticCustomError("wrong_type", "Expected a non-empty text.")
        if len(value) > max_len:
            raise PydanticCustomError("too_long", f"At most {max_len} characters.")
        if problem := text.one_line_problem(value):
            raise PydanticCustomError(text.CODE, problem)
        return value

    return PlainValidator(check)


def _lines(max_len: int) -> PlainValidator:
    """A non-empty text of several lines up to `max_len` (a consent form's), with its line
    ends as LF and no blank space at its ends (`services.text.normalised_lines`)."""

    def check(value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise PydanticCustomError("wrong_type", "Expected a non-empty text.")
        value = text.normalised_lines(value)
        if len(value) > max_len:
            raise PydanticCustomError("too_long", f"At most {max_len} characters.")
        if problem := text.lines_problem(value):
            raise PydanticCustomError(text.CODE, problem)
        return value

    return PlainValidator(check)


def _address(max_len: int) -> PlainValidator:
    """A postal address: lines (LF), possibly empty (a clinic that has not given one)."""

    def check(value: object) -> str:
        if not isinstance(value, str):
            raise PydanticCustomError("wrong_type", "Expected a text.")
        value = text.normalised_lines(value)
        if len(value) > max_len:
            raise PydanticCustomError("too_long", f"At most {max_len} characters.")
        if problem := text.lines_problem(value):
            raise PydanticCustomError(text.CODE, problem)
        return value

    return PlainValidator(check)


def _whole_number(value: object, what: str, lo: int, hi: int) -> int:
    # bool is an int to Python, never to a clinic admin.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("wrong_type", f"{what} must be a whole number.")
    if not lo <= value <= hi:
        raise PydanticCustomError("out_of_range", f"{what} must be from {lo} to {hi}; got {value}.")
    return value


def whole(what: str, lo: int, hi: int, *, nullable: bool = False) -> PlainValidator:
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
    # ZoneInfo reads a file named by the value: "Europe" is a folder, a long name too long.
    except (ZoneInfoNotFoundError, ValueError, OSError):
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
    if not _EMAIL_RE.match(email) or len(email) > 254 or text.one_line_problem(email):
        raise PydanticCustomError("bad_email", f"Not an email address: {value!r}.")
    return email.lower()


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


def _record_fields(value: object) -> list[dict[str, Any]] | None:
    """A procedure's treatment-record template (services/clinical/record_templates.py)."""
    if value is None:
        return None
    found = record_templates.template_problems(value)
    if found:
        raise _errors([(loc, "bad_record_field", message) for loc, message in found])
    assert isinstance(value, list)  # template_problems found none
    return [dict(f) for f in value]


Flag = Annotated[bool, PlainValidator(_flag)]
RecordFields = Annotated[list[dict[str, Any]] | None, PlainValidator(_record_fields)]
Code = Annotated[str, PlainValidator(_code)]
ShortCode = Annotated[str, PlainValidator(_short_code)]  # a room's or a device's
Name = Annotated[str, _text(120)]
Instruction = Annotated[str, _text(300)]  # a restriction's text for the client
MAX_CONSENT_TEXT = 20_000
ConsentText = Annotated[str, _lines(MAX_CONSENT_TEXT)]  # a consent form's text, in lines
MAX_ADDRESS = 300
Address = Annotated[str, _address(MAX_ADDRESS)]  # the clinic's postal address, in lines
Clock = Annotated[time, PlainValidator(_clock)]
Day = Annotated[date, PlainValidator(_day)]
TimeZone = Annotated[str, PlainValidator(_timezone)]
SlotMinutes = Annotated[int, whole("Slot length", 5, 120), AfterValidator(_divides_an_hour)]
RestrictionKind = Annotated[str, PlainValidator(_restriction_kind)]
Price = Annotated[Decimal, PlainValidator(_price)]
Email = Annotated[str, PlainValidator(_email)]
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


def each(check: Check) -> WrapValidator:
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


def no_repeats(show: Callable[[Any], str] = repr, *, key: str | None = None) -> Check:
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
DaysOff = Annotated[list[DaySpan], each(_no_overlapping_days_off)]
Holidays = Annotated[list[Day], each(no_repeats(lambda d: repr(d.isoformat())))]
Codes = Annotated[list[Code], each(no_repeats())]
RestrictionRefs = Annotated[list[RestrictionRef], each(no_repeats())]
ProcedureRefs = Annotated[list[ProcedureRef], each(no_repeats())]
Months = Annotated[
    list[Annotated[int, whole("A month", 1, 12)]],
    each(no_repeats(lambda m: f"Month {m}")),
    AfterValidator(_some_months),
]


def _some_phototypes(phototypes: list[int]) -> list[int]:
    if not phototypes:
        raise PydanticCustomError(
            "out_of_range",
            "Give at least one skin type, or leave 'phototypes' out for every skin type.",
        )
    return phototypes


# The Fitzpatrick skin phototypes (1-6) a course may treat.
Phototypes = Annotated[
    list[Annotated[int, whole("A skin phototype", 1, 6)]],
    each(no_repeats(lambda p: f"Skin type {p}")),
    AfterValidator(_some_phototypes),
]


def intervals(week: Mapping[str, list[tuple[time, time]]]) -> list[Interval]:
    """A `Week` as sorted (weekday, start, end), the way the tables hold hours."""
    return sorted((WEEKDAYS.index(day), s, e) for day, spans in week.items() for s, e in spans)
