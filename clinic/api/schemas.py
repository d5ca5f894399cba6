"""The API's request and response shapes. They validate requests and generate the OpenAPI
document, so the two cannot drift apart."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
)
from pydantic_core import PydanticCustomError

from clinic.services.core import date_range, text

MAX_ID = 2**31 - 1
# Database ids: positive and within a 32-bit integer column.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# The codes of the date-range refusals below: the clinic's policy, answered 422 (registry.py).
DATE_CODES = frozenset({date_range.OUT_OF_RANGE, date_range.IN_THE_PAST})
# Every code the schemas' own checks give (the rest are pydantic's `invalid_field`).
OWN_CODES = DATE_CODES | {"iso_text", "date_format", text.CODE}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_text(value: object) -> object:
    """Dates and times come as ISO 8601 text; a bare number (a Unix time to pydantic:
    `to=0` would be 1 January 1970) is refused."""
    if isinstance(value, int | float | bool):
        raise PydanticCustomError("iso_text", "Give an ISO 8601 date or time as text.")
    return value


def _iso_day(value: object) -> object:
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise PydanticCustomError("date_format", "Give a date as YYYY-MM-DD.")
    return _iso_text(value)


def _refuse(problem: date_range.DateProblem | None) -> None:
    if problem is not None:
        raise PydanticCustomError(problem.code, problem.message)


def _bookable_day(day: date) -> date:
    _refuse(date_range.bookable_day_problem(day))
    return day


def _bookable_moment(moment: datetime) -> datetime:
    _refuse(date_range.bookable_moment_problem(moment))
    return moment


def _viewable_day(day: date) -> date:
    _refuse(date_range.viewable_day_problem(day))
    return day


# A day the clinic books (today up to its horizon), a session start on such a day, and a day
# its lists show: the range is services/date_range.py's.
BookableDay = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_bookable_day)]
BookableMoment = Annotated[
    AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_bookable_moment)
]
ViewableDay = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_viewable_day)]


def _one_line(value: str) -> str:
    if problem := text.one_line_problem(value):
        raise PydanticCustomError(text.CODE, problem)
    return value


# A name or other one-line text (services.text): it may reach an email header.
OneLine = Annotated[
    str, AfterValidator(_one_line), Field(json_schema_extra={"pattern": text.PATTERN})
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- requests -----------------------------------------------------------------------------------


class TokenRequest(Body):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=200)


class CoursesQuery(Body):
    pass


class PractitionersQuery(Body):
    procedure: str | None = Field(default=None, max_length=60)


class AvailabilityQuery(Body):
    procedure: str = Field(min_length=1, max_length=60)
    date: BookableDay
    practitioner: Id | None = None
    client: Id | None = Field(
        default=None,
        description="Only the starts this client's rules accept, judged as their open course's "
        "next session (spacing included) or else as a single session of the procedure. "
        "A client may name only themselves.",
    )


class ClientCreate(Body):
    email: EmailStr
    name: OneLine = Field(min_length=1, max_length=120)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    phone: OneLine | None = Field(default=None, max_length=40)


class ConditionAnswer(Body):
    code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")
    present: bool
    last_date: date | None = None


class ScreeningUpdate(Body):
    conditions: list[ConditionAnswer] = Field(max_length=50)
    phototype: StrictInt | None = Field(
        default=None,
        ge=1,
        le=6,
        description="The Fitzpatrick skin phototype, 1 (always burns, never tans) to 6; "
        "left out: the one recorded stays.",
    )


class PeriodCreate(Body):
    kind: Literal["sun_exposure", "needs_makeup"]
    start: date
    end: date
    note: str | None = Field(default=None, max_length=200)


def _weekdays(value: object) -> object:
    """Weekdays are integers 0 (Monday) to 6 (Sunday), at least one: never a boolean (`false`
    is not Monday), text or a float. Judged here as a whole, so every refusal names the field
    `weekdays` with one sentence."""
    if isinstance(value, list) and (
        not value or any(type(d) is not int or not 0 <= d <= 6 for d in value)
    ):
        raise PydanticCustomError(
            "weekdays",
            "give weekdays as a list of 0 (Monday) to 6 (Sunday), at least one; "
            "leave them out for any day",
        )
    return value


Weekdays = Annotated[
    list[Annotated[StrictInt, Field(ge=0, le=6)]],
    BeforeValidator(_weekdays),
    Field(min_length=1, max_length=7),
]
# A time of day as ISO 8601 text ("09:30"), never a number of seconds.
ClockTime = Annotated[time, BeforeValidator(_iso_text)]


class PlanPreferences(Body):
    """Wishes for a plan, each optional; a wish given is well formed or refused 400 (an empty
    list of weekdays wishes for no day at all: leave `weekdays` out for any day)."""

    weekdays: Weekdays | None = None
    time_from: ClockTime | None = None
    time_to: ClockTime | None = None
    practitioner: Annotated[StrictInt, Field(ge=1, le=MAX_ID)] | None = None


class PlanRequest(Body):
    course: str = Field(min_length=1, max_length=60)
    client: Id | None = None
    earliest: BookableDay
    preferences: PlanPreferences | None = None


class SessionStart(Body):
    start: BookableMoment
    practitioner: Id | None = None


class EnrolmentCreate(Body):
    course: str = Field(min_length=1, max_length=60)
    client: Id | None = None
    sessions: list[SessionStart] = Field(min_length=1, max_length=30)
    override_reason: str | None = Field(default=None, max_length=500)
    # Rule 11, staff only: the client has kept a pre-care that has already begun.
    precare_confirmed: bool = False
    patch_test: SessionStart | None = Field(
        default=None,
        description="The patch test the course's procedure needs, booked with the course "
        "(as POST /plans proposed it); the course is judged against it.",
    )


class EnrolmentPlanRequest(Body):
    """The rest of a course booking: `count` sessions (default all that remain; 1 the next)."""

    earliest: BookableDay | None = None
    preferences: PlanPreferences | None = None
    count: int | None = Field(default=None, ge=1, le=60)


class EnrolmentSessionsCreate(Body):
    sessions: list[SessionStart] = Field(min_length=1, max_length=60)
    override_reason: str | None = Field(default=None, max_length=500)
    # Rule 11, staff only: the client has kept a pre-care that has already begun.
    precare_confirmed: bool = False


class AppointmentsQuery(Body):
    client: Id | None = None
    from_: ViewableDay | None = Field(default=None, alias="from")
    to: ViewableDay | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AppointmentMove(Body):
    start: BookableMoment
    practitioner: Id | None = None
    override_reason: str | None = Field(default=None, max_length=500)
    accept_replan: bool = False
    precare_confirmed: bool = False


class CancelReason(Body):
    """Why a session or course is cancelled, told to the client as given (issue 22); in the
    query (`?reason=`) or a JSON body."""

    reason: str | None = Field(default=None, max_length=500)


class OutcomeRecord(Body):
    """Staff: how a session that has started went."""

    outcome: Literal["done", "no_show"]
    note: str | None = Field(default=None, max_length=2000)


class ReactionRecord(Body):
    """Staff: the skin reacted to a held patch test; what it showed."""

    note: str = Field(min_length=1, max_length=2000)


class ReactionSaved(BaseModel):
    appointment: int
    reaction: str
    affected: list[int] = Field(
        description="The client's booked sessions the reaction rules out, flagged for the "
        "attention list (contraindicated)."
    )


class CalendarQuery(Body):
    client: Id | None = None


# --- responses ----------------------------------------------------------------------------------


class TokenOut(BaseModel):
    token: str
    expires_at: datetime


class CareOut(BaseModel):
    restriction: str
    hours: int


class ContraOut(BaseModel):
    code: str
    lookback_days: int


class CourseOut(BaseModel):
    code: str
    name: str
    procedure: str
    sessions: int
    min_interval_days: int
    max_interval_days: int | None
    ideal_interval_days: int | None = Field(
        description="The spacing the planner aims for (between min and max); null: the minimum."
    )
    aftercare: list[CareOut]
    precare: list[CareOut]
    contraindications: list[ContraOut]
    months: list[int]
    phototypes: list[int] = Field(
        description="The Fitzpatrick skin phototypes (1-6) the course may treat; every other "
        "one is refused as contraindicated."
    )
    price: str
    duration_min: int


class PractitionerOut(BaseModel):
    id: int
    name: str
    email: str
    qualifications: list[str]


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    practitioner: int
    device: str | None
    room: str


class PlannedOut(SlotOut):
    session: int


class SlotsOut(BaseModel):
    slots: list[SlotOut]


class ClientOut(BaseModel):
    id: int
    email: str
    name: str
    has_login: bool


class ScreeningOut(BaseModel):
    client: int
    confirmed_at: datetime | None
    conditions: list[ConditionAnswer]
    phototype: int | None = Field(description="The Fitzpatrick skin phototype (1-6), if known.")


class PeriodOut(BaseModel):
    id: int
    kind: str
    start: date
    end: date
    note: str


AFFECTED = (
    "The client's booked future sessions this change breaks (appointment ids, in order of "
    "start): they are flagged for the attention list, where reception re-plans them. Empty "
    "when nothing breaks."
)


class ScreeningSaved(ScreeningOut):
    affected: list[int] = Field(description=AFFECTED)


class PeriodCreated(PeriodOut):
    affected: list[int] = Field(description=AFFECTED)


class UntilOut(BaseModel):
    restriction: str
    text: str
    phase: Literal["before", "after"]
    start: datetime
    until: datetime


class NoteOut(BaseModel):
    """Something the client should know about a plan, with the rule code it comes from."""

    code: str
    message: str
    earliest: date | None = None


class PlanSessionOut(SlotOut):
    session: int | None = Field(description="The course's session number; null for a patch test.")
    patch_test: bool = Field(
        default=False,
        description="The patch test the course needs first, booked with it "
        '(POST /enrolments "patch_test").',
    )


class PlanOut(BaseModel):
    sessions: list[PlanSessionOut]
    aftercare: list[list[UntilOut]]
    notes: list[NoteOut] = []


class AppointmentOut(BaseModel):
    id: int
    enrolment: int
    course: str
    session: int
    client: int
    start: datetime
    end: datetime
    status: str
    practitioner: int
    device: str | None
    room: str
    aftercare: list[UntilOut]


class EnrolmentOut(BaseModel):
    id: int
    course: str
    client: int
    appointments: list[AppointmentOut]


class EnrolmentDetailOut(BaseModel):
    """A course booking and how far it has got: the counts of `services.progress`."""

    id: int
    course: str
    client: int
    status: Literal["active", "cancelled", "completed"]
    sessions_total: int = Field(
        description="The course's sessions plus a make-up for each no-show (unless the "
        "clinic's policy says a no-show uses its session up)."
    )
    held: int
    missed: int
    booked: int
    remaining: int = Field(description="Sessions still to plan and book.")
    next_session: int | None = Field(
        description="The number the next session booked into it takes; null if none remain."
    )
    appointments: list[AppointmentOut]


class RestPlanOut(PlanOut):
    """`POST /plans`'s shape, each session with the number it would take."""

    sessions: list[PlannedOut]  # type: ignore[assignment]


class ErrorItem(BaseModel):
    code: str
    message: str
    field: str | None = None
    session: int | None = None
    earliest: date | None = None
    enrolment: int | None = None
    # The consent form a `consent_required` asks to sign (issue 21).
    form: str | None = None


class ErrorsOut(BaseModel):
    errors: list[ErrorItem]
    affected: list[int] | None = None
    replan: list[PlannedOut] | None = None


# --- the attention list and re-plans --------------------------------------------------------------


class AttentionQuery(Body):
    client: Id | None = None


class SeenSession(Body):
    """A session as the attention list showed it (its re-plan's `seen`)."""

    status: str = Field(max_length=20)
    start: Annotated[AwareDatetime, BeforeValidator(_iso_text)]
    practitioner: Id


class ReplanSession(Body):
    appointment: Id
    start: BookableMoment
    practitioner: Id | None = None
    # Optional: a session no longer as seen refuses the re-plan (409 appointment_changed);
    # without it the session is taken as it is now (docs/DECISIONS.md).
    seen: SeenSession | None = None


class ReplanAccept(Body):
    # Empty: the re-plan moves nothing (the flagged sessions hold where they are); accepting
    # it clears their flags.
    sessions: list[ReplanSession] = Field(max_length=30)


class FlagErrorOut(BaseModel):
    code: str
    message: str


class SeenOut(BaseModel):
    status: str
    start: datetime
    practitioner: int


class ReplanMoveOut(BaseModel):
    """A move of the re-plan, and the session as booked when the list was drawn (`seen`:
    send the move back as it is, and a session changed since refuses the re-plan)."""

    appointment: int
    start: datetime
    practitioner: int
    seen: SeenOut


class AttentionOut(BaseModel):
    """A booked session to come that a change of the world has broken, with the re-plan of
    its enrolment (empty when no re-plan keeps every rule: then handle it by hand)."""

    appointment: int
    enrolment: int
    client: int
    start: datetime
    errors: list[FlagErrorOut]
    cause: str
    replan: list[ReplanMoveOut]


# --- consents (issue 21) -------------------------------------------------------------------------


class ConsentSign(Body):
    """Sign a consent form's current version: a client online, reception recording the paper
    signed at the desk. A missing name or `agree` other than true is refused (400) by the
    service, with its sentence."""

    form: str = Field(min_length=1, max_length=60)
    signed_name: OneLine | None = Field(default=None, max_length=120)
    agree: StrictBool | None = None


class ConsentFormOut(BaseModel):
    code: str
    title: str
    text: str = Field(description="The current version's text: the one a signature signs now.")
    version: int
    valid_days: int
    procedures: list[str] = Field(description="The procedures whose sessions need it signed.")


class ConsentOut(BaseModel):
    form: str
    version: int
    signed_at: datetime
    valid_until: date
    how: Literal["online", "paper"]


# --- treatment records, photos and photo consent (issue 21) --------------------------------------


def _value_text(value: object) -> object:
    """A template value may come as a number (12.5) or as text ("12.5"); it is kept as text.
    A boolean is neither."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


RecordValue = Annotated[str, BeforeValidator(_value_text), Field(max_length=200)]
FieldCode = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]


class ProductIn(Body):
    name: OneLine = Field(min_length=1, max_length=120)
    batch: OneLine = Field(min_length=1, max_length=60)


class RecordWrite(Body):
    """A new entry of a held session's record: a draft, or signed off at once (`sign`). After
    a signed entry, a new one amends it. `values` are the procedure's template fields by code
    (GET .../records gives the template); a code the template lacks, a number field that is
    not a number or a choice not listed is refused 422 `invalid_record` naming the field."""

    values: dict[FieldCode, RecordValue] = Field(default_factory=dict, max_length=20)
    areas: str = Field(default="", max_length=2000)
    products: list[ProductIn] = Field(default_factory=list, max_length=30)
    reaction: StrictInt | None = Field(
        default=None, ge=0, le=3, description="The skin's reaction, 0 (none) to 3 (severe)."
    )
    notes: str = Field(default="", max_length=5000)
    sign: StrictBool = Field(
        default=False,
        description="Sign the entry off at once (the reaction must be graded); a signed "
        "entry never changes.",
    )


class RecordChange(Body):
    """A draft's fields to change; those left out stay as saved."""

    values: dict[FieldCode, RecordValue] | None = Field(default=None, max_length=20)
    areas: str | None = Field(default=None, max_length=2000)
    products: list[ProductIn] | None = Field(default=None, max_length=30)
    reaction: StrictInt | None = Field(default=None, ge=0, le=3)
    notes: str | None = Field(default=None, max_length=5000)


class PhotoUpload(Body):
    """A before or after photo (multipart/form-data): checked by its content (a JPEG, PNG or
    WebP image whatever its name), at most the clinic's photo limit (12 MB by default; 413
    `too_large` above it), stored resized without EXIF or GPS."""

    photo: bytes = Field(description="The image file.")
    kind: Literal["before", "after"]


class PhotoConsentUpdate(Body):
    may_take: StrictBool = Field(description="The client agrees to before/after photos.")
    may_show_client: StrictBool = Field(
        description="The client wants to see their photos (shown if the clinic's policy "
        "shows photos to clients); false whenever `may_take` is."
    )


class TemplateFieldOut(BaseModel):
    code: str
    label: str
    kind: str = Field(description="number, text or choice")
    unit: str | None = None
    choices: list[str] | None = None


class ProductOut(BaseModel):
    name: str
    batch: str


class RecordEntryOut(BaseModel):
    """One entry of a session's record, with the template it was filled in with."""

    id: int
    appointment: int
    status: Literal["draft", "signed"]
    amends: int | None = Field(description="The signed entry this one amends.")
    template: list[TemplateFieldOut]
    values: dict[str, str]
    areas: str
    products: list[ProductOut]
    reaction: int | None
    notes: str
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    signed_at: datetime | None
    signed_by: str | None


class PhotoOut(BaseModel):
    """A photo's facts; its bytes are at `url` (sized for a screen) and `thumbnail`."""

    id: int
    appointment: int
    kind: Literal["before", "after"]
    content_type: str
    width: int
    height: int
    taken_at: datetime
    url: str
    thumbnail: str


class PhotoConsentOut(BaseModel):
    client: int
    may_take: bool
    may_show_client: bool
    recorded_at: datetime | None = Field(description="Null: none recorded, so no photos.")


class RecordHistoryOut(BaseModel):
    """A held session's record: every entry oldest first (a draft only to its author), the
    template a new entry is filled in with, the session's photos and the photo consent."""

    appointment: int
    client: int
    session: int
    status: str
    template: list[TemplateFieldOut]
    entries: list[RecordEntryOut]
    current: int | None = Field(description="The latest signed entry.")
    draft: int | None = Field(description="The caller's own draft, to PATCH or sign.")
    photos: list[PhotoOut]
    photo_consent: PhotoConsentOut
    can_write: bool = Field(description="The caller held the session: writes its record.")
