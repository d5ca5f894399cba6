"""The catalogue file (API.md) as pydantic models: what a valid file holds, and every error in
an invalid one, each with its JSON path (`courses[2].min_interval_days`) and a sentence a
clinic admin understands. Nothing here touches the database: `apply` passes in the codes it
holds. What one value may be (a code, a week of hours) is in `fields`.

Decisions the contract leaves to us:
- Unknown keys are refused (`unknown_field`), at any depth: a misspelt `"precare"` silently
  ignored would drop a safety rule, so a typo must stop the import.
- `months` omitted means all year; an empty list is refused (it would mean "never"); the
  same for `phototypes` (omitted: every skin type I-VI).
- A code a record names (a course's procedure, a care rule's restriction, a procedure's device
  kind) must be declared in the file or be in the database already. A record with other
  errors still declares its code, so that one typo does not bring a cascade of "unknown" errors.
- Every error is listed at once: pydantic checks every record, and the rules across records
  (a code given twice, references) look at each record whatever else is wrong with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from clinic.models import (
    PATCH_TEST_MAX_DAYS,
    PATCH_TEST_MAX_HOURS,
    months_to_mask,
    phototypes_to_mask,
)
from clinic.services.catalogue.fields import (
    MAX_CARE_HOURS,
    MAX_INTERVAL_DAYS,
    MAX_LOOKBACK_DAYS,
    Address,
    Code,
    Codes,
    ConsentText,
    DaysOff,
    DeviceKindRef,
    Email,
    Flag,
    Holidays,
    Instruction,
    Known,
    Loc,
    Months,
    Name,
    Phototypes,
    Price,
    ProcedureRef,
    ProcedureRefs,
    RecordFields,
    RestrictionKind,
    RestrictionRef,
    RestrictionRefs,
    ShortCode,
    SlotMinutes,
    TimeZone,
    Week,
    each,
    is_code,
    no_repeats,
    whole,
)
from clinic.services.core.errors import InvalidData

SECTIONS = (
    "clinic",
    "restrictions",
    "rooms",
    "devices",
    "procedures",
    "courses",
    "practitioners",
    "consent_forms",
)

Error = dict[str, str]  # {"code", "message", "field"}: one entry of InvalidData.errors


# --- errors ----------------------------------------------------------------------------------

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


# --- records ---------------------------------------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Policy(_Record):
    client_change_notice_hours: Annotated[
        int, whole("Notice for client changes (hours)", 0, 8760)
    ] = 24
    horizon_days: Annotated[int, whole("Booking horizon (days)", 1, 1100)] = 365
    # DOMAIN.md "No-show and make-up": false, a no-show keeps a make-up session.
    no_show_uses_session: Flag = False
    # Clients see their own before/after photos on My sessions, if they consented too.
    photos_shown_to_clients: Flag = False


class ClinicEntry(_Record):
    name: Name
    # The postal address; with the name, where the clients' calendars place their sessions.
    address: Address = ""
    timezone: TimeZone
    slot_minutes: SlotMinutes = 15
    opening_hours: Week = Field(default_factory=dict)
    holidays: Holidays = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)


class RestrictionEntry(_Record):
    code: Code
    text: Instruction
    kind: RestrictionKind


class RoomEntry(_Record):
    code: ShortCode
    name: Name


class DeviceEntry(_Record):
    code: ShortCode
    kind: Code
    name: Name


class PatchTestEntry(_Record):
    """The patch test a procedure needs before a course's first session: a session of the
    procedure `procedure` (booked like any course of it), in a window before that session."""

    procedure: ProcedureRef
    min_hours_before: Annotated[int, whole("Hours before", 1, PATCH_TEST_MAX_HOURS)]
    max_days_before: Annotated[int, whole("Days before", 1, PATCH_TEST_MAX_DAYS)]

    @field_validator("max_days_before")
    @classmethod
    def _longer_than_the_wait(cls, days: int, info: ValidationInfo) -> int:
        hours = info.data.get("min_hours_before")
        if hours is not None and days * 24 <= hours:
            raise PydanticCustomError(
                "max_below_min",
                f"The longest wait ({days} days) is not longer than the shortest ({hours} hours).",
            )
        return days


class ProcedureEntry(_Record):
    code: Code
    name: Name
    duration_min: Annotated[int, whole("Duration (minutes)", 1, 720)]
    buffer_min: Annotated[int, whole("Buffer (minutes)", 0, 240)] = 0
    qualification: Code
    device_kind: DeviceKindRef = None
    blocked_by: RestrictionRefs = Field(default_factory=list)
    price: Price = Decimal("0.00")
    patch_test: PatchTestEntry | None = None

    @field_validator("patch_test")
    @classmethod
    def _not_its_own_test(
        cls, test: PatchTestEntry | None, info: ValidationInfo
    ) -> PatchTestEntry | None:
        if test is not None and test.procedure == info.data.get("code"):
            raise PydanticCustomError("own_patch_test", "A procedure cannot be its own patch test.")
        return test

    # The treatment record's fields (services/clinical/record_templates.py); omitted: the
    # default for the procedure's device kind or qualification.
    record_fields: RecordFields = None


class CareRule(_Record):
    restriction: RestrictionRef
    hours: Annotated[int, whole("Hours", 1, MAX_CARE_HOURS)]


class Contraindication(_Record):
    code: Code
    lookback_days: Annotated[int, whole("Look-back (days)", 0, MAX_LOOKBACK_DAYS)]


CareRules = Annotated[list[CareRule], each(no_repeats(key="restriction"))]


class CourseEntry(_Record):
    code: Code
    name: Name
    procedure: ProcedureRef
    sessions: Annotated[int, whole("Number of sessions", 1, 30)]
    min_interval_days: Annotated[int, whole("Minimum interval (days)", 0, MAX_INTERVAL_DAYS)] = 0
    max_interval_days: Annotated[
        int | None, whole("Maximum interval (days)", 0, MAX_INTERVAL_DAYS, nullable=True)
    ] = None
    ideal_interval_days: Annotated[
        int | None, whole("Ideal interval (days)", 0, MAX_INTERVAL_DAYS, nullable=True)
    ] = None
    aftercare: CareRules = Field(default_factory=list)
    precare: CareRules = Field(default_factory=list)
    contraindications: Annotated[list[Contraindication], each(no_repeats(key="code"))] = Field(
        default_factory=list
    )
    months: Months = Field(default_factory=lambda: list(range(1, 13)))
    phototypes: Phototypes = Field(default_factory=lambda: list(range(1, 7)))

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

    @field_validator("ideal_interval_days")
    @classmethod
    def _between_min_and_max(cls, ideal: int | None, info: ValidationInfo) -> int | None:
        # The minimum and maximum are in `info.data` if they were valid.
        min_days = info.data.get("min_interval_days")
        max_days = info.data.get("max_interval_days")
        if ideal is None:
            return ideal
        if min_days is not None and ideal < min_days:
            raise PydanticCustomError(
                "ideal_outside_interval",
                f"The ideal interval ({ideal} days) is shorter than the minimum ({min_days} days).",
            )
        if max_days is not None and ideal > max_days:
            raise PydanticCustomError(
                "ideal_outside_interval",
                f"The ideal interval ({ideal} days) is longer than the maximum ({max_days} days).",
            )
        return ideal

    @property
    def months_mask(self) -> int:
        return months_to_mask(self.months)

    @property
    def phototypes_mask(self) -> int:
        return phototypes_to_mask(self.phototypes)


class PractitionerEntry(_Record):
    email: Email
    name: Name
    qualifications: Codes = Field(default_factory=list)
    hours: Week = Field(default_factory=dict)
    time_off: DaysOff = Field(default_factory=list)


class ConsentFormEntry(_Record):
    """A consent form (issue 21): its text is the current version's; a new text makes a new
    version on import, the same text none (services/catalogue/write.py)."""

    code: Code
    title: Name
    text: ConsentText
    valid_days: Annotated[int, whole("Valid for (days)", 1, 3650)]
    procedures: ProcedureRefs = Field(default_factory=list)


def _not_null(value: object) -> object:
    # A section may be left out, but not given as null.
    if value is None:
        raise PydanticCustomError("wrong_type", "Expected an object.")
    return value


class CatalogueFile(_Record):
    """A valid catalogue file; a section left out is an empty list (or no `clinic`)."""

    clinic: Annotated[ClinicEntry | None, BeforeValidator(_not_null)] = None
    restrictions: list[RestrictionEntry] = Field(default_factory=list)
    rooms: list[RoomEntry] = Field(default_factory=list)
    devices: list[DeviceEntry] = Field(default_factory=list)
    procedures: list[ProcedureEntry] = Field(default_factory=list)
    courses: list[CourseEntry] = Field(default_factory=list)
    practitioners: list[PractitionerEntry] = Field(default_factory=list)
    consent_forms: list[ConsentFormEntry] = Field(default_factory=list)

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


# A clinic's catalogue is a few hundred kB; this is about 40,000 courses like the demo's (each
# with its care rules), which import in about 10 s on the bench machine (bench/README.md,
# "Catalogue import (issue 15)"). Above it a file is refused, saying this size.
MAX_FILE_BYTES = 20_000_000
# The deepest a valid file nests is 6 (practitioners[0].hours.mon[0][0]); Python's parser
# gives up somewhere near 1,000, and this is where the error says the file went too deep.
MAX_DEPTH = 20

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]')


def _file_error(code: str, message: str, field: str = "$") -> InvalidData:
    return InvalidData([{"code": code, "message": message, "field": field}])


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - text.rfind(chr(10), 0, offset)}"


def _key(token: str) -> str:
    try:
        key = json.loads(token)
    except ValueError:  # the parser stopped before it: the scan only places the error
        return token[1:-1]
    return str(key)


def _too_deep(text: str) -> InvalidData:
    """The error for JSON nested deeper than Python parses: where it first goes deeper than
    MAX_DEPTH, as a path. A scan of strings and brackets, kept for this rare case."""
    stack: list[list[Any]] = []  # per open list or object: [is a list, index or key]
    key_next = False
    for token in _TOKEN.finditer(text):
        mark = token.group()
        if mark in "[{":
            if len(stack) == MAX_DEPTH:
                path = _path(tuple(part for _, part in stack))
                return _file_error(
                    "too_deep",
                    f"Lists and objects are nested more than {MAX_DEPTH} deep here "
                    f"({_where(text, token.start())}); a catalogue file needs at most 6.",
                    path,
                )
            stack.append([mark == "[", 0 if mark == "[" else ""])
            key_next = mark == "{"
        elif mark in "]}":
            if stack:
                stack.pop()
            key_next = False
        elif mark == ",":
            if stack and stack[-1][0]:
                stack[-1][1] += 1
            key_next = bool(stack) and not stack[-1][0]
        elif key_next and stack:
            stack[-1][1] = _key(mark)
            key_next = False
    return _file_error("too_deep", f"Lists and objects are nested more than {MAX_DEPTH} deep.")


def read_file(raw: bytes) -> Any:
    """A catalogue file's bytes as JSON values, or `InvalidData` saying why they are not: too
    large (MAX_FILE_BYTES), not UTF-8, not JSON, nested too deep. The command and the admin
    page read a file with it, then import what it returns."""
    if len(raw) > MAX_FILE_BYTES:
        raise _file_error(
            "too_large",
            f"The file is {_size(len(raw))}; a catalogue file may be at most "
            f"{_size(MAX_FILE_BYTES)}.",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _file_error(
            "not_utf8",
            f"The file is not UTF-8 text: byte {raw[exc.start]:#04x} on line {line} cannot be "
            "read. Save it as UTF-8 and import it again.",
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _file_error(
            "malformed_json",
            f"The file is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}.",
        ) from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise _file_error("malformed_json", f"The file is not valid JSON: {exc}.") from None
    except RecursionError:
        raise _too_deep(text) from None


def _size(n: int) -> str:
    return f"{n / 1e6:.3g} MB" if n >= 1_000_000 else f"{n / 1e3:.3g} kB"


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
