"""The catalogue file: import, export, idempotence and every kind of bad input."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select

from clinic.demo import demo_catalogue
from clinic.extensions import db
from clinic.models import (
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
    WorkingHours,
)
from clinic.services.catalogue import export_catalogue, import_catalogue
from clinic.services.core.errors import InvalidData
from clinic.services.people.accounts import create_user

TABLES = (
    ClinicSettings,
    OpeningHours,
    Holiday,
    Restriction,
    Room,
    Device,
    Procedure,
    Course,
    CourseRestriction,
    CourseContraindication,
    Practitioner,
    PractitionerQualification,
    WorkingHours,
    TimeOff,
)


def row_counts() -> dict[str, int]:
    return {t.__tablename__: db.session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def course(code: str) -> Course:
    return db.session.scalar(select(Course).where(Course.code == code))


@pytest.fixture
def data(app) -> dict[str, Any]:
    return demo_catalogue()


def test_import_of_the_demo_file_creates_the_clinic(data) -> None:
    report = import_catalogue(data)

    assert report.changed and report.warnings == []
    assert report.counts["courses"].created == 7
    settings = db.session.scalar(select(ClinicSettings))
    assert (settings.name, settings.timezone, settings.slot_minutes) == (
        "Demo Skin Clinic",
        "Europe/Berlin",
        15,
    )
    counts = row_counts()
    assert counts["opening_hours"] == 6
    assert counts["restrictions"] == 6 and counts["practitioners"] == 4
    co2 = course("co2_course")
    assert co2.procedure.device_kind == "co2_laser"
    assert co2.months == [1, 2, 3, 10, 11, 12]
    # The ablative laser treats skin types I to IV; a course that lists none treats all.
    assert co2.phototypes == [1, 2, 3, 4]
    assert course("kinesio_single").phototypes == list(range(1, 7))
    assert [(a.restriction.code, a.hours) for a in co2.precare] == [("no_uv", 672)]
    assert {c.code: c.lookback_days for c in co2.contraindications}["isotretinoin"] == 180
    assert course("kinesio_single").max_interval_days is None
    assert (co2.ideal_interval_days, course("kinesio_single").ideal_interval_days) == (42, None)
    assert course("kinesio_single").months == list(range(1, 13))
    glycolic = db.session.scalar(select(Procedure).where(Procedure.code == "glycolic_peel"))
    assert glycolic.price == Decimal("85.00")
    assert [r.code for r in glycolic.blocked_by] == ["no_actives", "no_resurfacing"]


def test_export_after_import_is_the_same_file(data) -> None:
    import_catalogue(copy.deepcopy(data))

    assert export_catalogue() == data


@pytest.mark.parametrize("uses_up", [True, False, None])
def test_the_no_show_policy_round_trips_and_defaults_to_a_make_up(data, uses_up) -> None:
    if uses_up is None:
        del data["clinic"]["policy"]["no_show_uses_session"]
    else:
        data["clinic"]["policy"]["no_show_uses_session"] = uses_up
    import_catalogue(copy.deepcopy(data))

    assert db.session.scalar(select(ClinicSettings)).no_show_uses_session is bool(uses_up)
    assert export_catalogue()["clinic"]["policy"]["no_show_uses_session"] is bool(uses_up)


def test_reimport_of_the_export_changes_nothing_and_duplicates_nothing(data) -> None:
    import_catalogue(data)
    before = row_counts()
    ids = sorted(db.session.scalars(select(CourseRestriction.id)))

    report = import_catalogue(export_catalogue())
    again = import_catalogue(data)

    assert not report.changed and not again.changed
    assert again.counts["courses"].unchanged == 7
    assert row_counts() == before
    assert sorted(db.session.scalars(select(CourseRestriction.id))) == ids
    assert export_catalogue() == data


def test_reimport_replaces_care_rules_hours_qualifications_and_time_off(data) -> None:
    import_catalogue(copy.deepcopy(data))
    co2 = data["courses"][0]
    co2["aftercare"] = [{"restriction": "no_uv", "hours": 700}]
    co2["precare"] = []
    co2["contraindications"] = [{"code": "pregnancy", "lookback_days": 0}]
    del co2["months"]
    anna = data["practitioners"][0]
    anna["qualifications"] = ["peel"]
    anna["hours"] = {"sat": [["10:00", "12:00"]]}
    anna["time_off"] = [["2027-03-01", "2027-03-02"]]

    report = import_catalogue(copy.deepcopy(data))

    assert report.counts["courses"].updated == 1
    assert report.counts["practitioners"].updated == 1
    assert export_catalogue() == data
    assert db.session.scalar(select(func.count()).select_from(CourseRestriction)) > 0
    assert course("co2_course").months == list(range(1, 13))


def test_import_links_an_existing_practitioner_account(data) -> None:
    user = create_user(email="anna.weber@demo.clinic", role="practitioner", password="long-enough")

    import_catalogue(data)

    anna = db.session.scalar(select(Practitioner).where(Practitioner.email == user.email))
    assert anna.user_id == user.id


def test_a_missing_section_leaves_that_part_untouched(data) -> None:
    import_catalogue(copy.deepcopy(data))
    before = row_counts()

    report = import_catalogue({"rooms": [{"code": "R3", "name": "Room 3"}]})

    assert report.counts["rooms"].created == 1
    assert row_counts() == before | {"rooms": 3}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation of the file at a dotted path with [index] parts."""

    def mutate(d: dict[str, Any]) -> None:
        parts = path.replace("[", ".").replace("]", "").split(".")
        target: Any = d
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        if value is _DELETE:
            del target[last]
        elif last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


_DELETE = object()


def _append(path: str, item: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        target: Any = d
        for part in path.replace("[", ".").replace("]", "").split("."):
            target = target[int(part)] if part.isdigit() else target[part]
        target.append(item)

    return mutate


# courses[0] is co2_course, procedures[0] co2_laser, practitioners[0] Anna Weber.
BAD_INPUT = [
    (
        "min_above_max",
        _set("courses[0].min_interval_days", 100),
        "courses[0].max_interval_days",
        "max_below_min",
    ),
    (
        "ideal_below_min",
        _set("courses[0].ideal_interval_days", 27),
        "courses[0].ideal_interval_days",
        "ideal_outside_interval",
    ),
    (
        "ideal_above_max",
        _set("courses[0].ideal_interval_days", 91),
        "courses[0].ideal_interval_days",
        "ideal_outside_interval",
    ),
    (
        "ideal_not_a_number",
        _set("courses[0].ideal_interval_days", "six weeks"),
        "courses[0].ideal_interval_days",
        "wrong_type",
    ),
    ("zero_sessions", _set("courses[0].sessions", 0), "courses[0].sessions", "out_of_range"),
    ("31_sessions", _set("courses[0].sessions", 31), "courses[0].sessions", "out_of_range"),
    (
        "negative_min_interval",
        _set("courses[0].min_interval_days", -1),
        "courses[0].min_interval_days",
        "out_of_range",
    ),
    ("sessions_as_text", _set("courses[0].sessions", "3"), "courses[0].sessions", "wrong_type"),
    (
        "unknown_procedure",
        _set("courses[0].procedure", "co3_laser"),
        "courses[0].procedure",
        "unknown_procedure",
    ),
    (
        "unknown_aftercare_restriction",
        _set("courses[0].aftercare[0].restriction", "no_sunbed"),
        "courses[0].aftercare[0].restriction",
        "unknown_restriction",
    ),
    (
        "unknown_blocking_restriction",
        _set("procedures[0].blocked_by[0]", "no_laser"),
        "procedures[0].blocked_by[0]",
        "unknown_restriction",
    ),
    (
        "unknown_device_kind",
        _set("procedures[0].device_kind", "erbium_laser"),
        "procedures[0].device_kind",
        "unknown_device_kind",
    ),
    (
        "bad_time_zone",
        _set("clinic.timezone", "Europe/Atlantis"),
        "clinic.timezone",
        "bad_timezone",
    ),
    (
        "time_zone_naming_a_folder",
        _set("clinic.timezone", "Europe"),
        "clinic.timezone",
        "bad_timezone",
    ),
    (
        "time_zone_too_long_for_a_file_name",
        _set("clinic.timezone", "Europe/" + "x" * 300),
        "clinic.timezone",
        "bad_timezone",
    ),
    (
        "overlapping_opening_hours",
        _append("clinic.opening_hours.mon", ["18:00", "20:00"]),
        "clinic.opening_hours.mon[1]",
        "overlap",
    ),
    (
        "overlapping_practitioner_hours",
        _append("practitioners[0].hours.mon", ["08:00", "10:00"]),
        "practitioners[0].hours.mon[1]",
        "overlap",
    ),
    (
        "interval_inside_a_long_one_but_not_next_to_it",
        _set(
            "practitioners[0].hours.mon",
            [["09:00", "17:00"], ["10:00", "11:00"], ["12:00", "13:00"]],
        ),
        "practitioners[0].hours.mon[2]",
        "overlap",
    ),
    (
        "overlapping_time_off",
        _append("practitioners[0].time_off", ["2027-01-08", "2027-01-09"]),
        "practitioners[0].time_off[1]",
        "overlap",
    ),
    (
        "interval_ending_before_start",
        _set("clinic.opening_hours.sat[0]", ["14:00", "10:00"]),
        "clinic.opening_hours.sat[0]",
        "bad_interval",
    ),
    (
        "unknown_weekday",
        _set("clinic.opening_hours.monday", [["09:00", "12:00"]]),
        "clinic.opening_hours.monday",
        "unknown_weekday",
    ),
    (
        "negative_duration",
        _set("procedures[0].duration_min", -30),
        "procedures[0].duration_min",
        "out_of_range",
    ),
    (
        "zero_duration",
        _set("procedures[0].duration_min", 0),
        "procedures[0].duration_min",
        "out_of_range",
    ),
    (
        "negative_buffer",
        _set("procedures[0].buffer_min", -5),
        "procedures[0].buffer_min",
        "out_of_range",
    ),
    (
        "malformed_time",
        _set("clinic.opening_hours.mon[0][1]", "7pm"),
        "clinic.opening_hours.mon[0][1]",
        "bad_time",
    ),
    (
        "hour_25",
        _set("practitioners[0].hours.mon[0][0]", "25:00"),
        "practitioners[0].hours.mon[0][0]",
        "bad_time",
    ),
    ("month_13", _set("courses[0].months[0]", 13), "courses[0].months[0]", "out_of_range"),
    ("no_months", _set("courses[0].months", []), "courses[0].months", "out_of_range"),
    (
        "phototype_7",
        _set("courses[0].phototypes", [1, 7]),
        "courses[0].phototypes[1]",
        "out_of_range",
    ),
    ("no_phototypes", _set("courses[0].phototypes", []), "courses[0].phototypes", "out_of_range"),
    (
        "phototype_twice",
        _set("courses[0].phototypes", [2, 2]),
        "courses[0].phototypes[1]",
        "duplicate",
    ),
    (
        "zero_aftercare_hours",
        _set("courses[0].aftercare[0].hours", 0),
        "courses[0].aftercare[0].hours",
        "out_of_range",
    ),
    (
        "zero_precare_hours",
        _set("courses[0].precare[0].hours", 0),
        "courses[0].precare[0].hours",
        "out_of_range",
    ),
    (
        "negative_lookback",
        _set("courses[0].contraindications[0].lookback_days", -1),
        "courses[0].contraindications[0].lookback_days",
        "out_of_range",
    ),
    ("bad_holiday", _set("clinic.holidays[0]", "2027-02-30"), "clinic.holidays[0]", "bad_date"),
    (
        "bad_time_off_date",
        _set("practitioners[0].time_off[0][0]", "28.12.2026"),
        "practitioners[0].time_off[0][0]",
        "bad_date",
    ),
    (
        "time_off_ending_before_start",
        _set("practitioners[0].time_off[0]", ["2027-01-08", "2026-12-28"]),
        "practitioners[0].time_off[0]",
        "bad_interval",
    ),
    ("restriction_kind", _set("restrictions[0].kind", "uv"), "restrictions[0].kind", "bad_kind"),
    ("negative_price", _set("procedures[0].price", "-5.00"), "procedures[0].price", "bad_price"),
    ("price_as_number", _set("procedures[0].price", 350.0), "procedures[0].price", "bad_price"),
    (
        "slot_minutes_not_dividing_an_hour",
        _set("clinic.slot_minutes", 25),
        "clinic.slot_minutes",
        "bad_slot_minutes",
    ),
    (
        "slot_minutes_too_small",
        _set("clinic.slot_minutes", 1),
        "clinic.slot_minutes",
        "out_of_range",
    ),
    ("unknown_field", _set("courses[0].pre_care", []), "courses[0].pre_care", "unknown_field"),
    (
        "missing_required_field",
        _set("courses[0].sessions", _DELETE),
        "courses[0].sessions",
        "required",
    ),
    ("duplicate_code", _set("rooms[1].code", "R1"), "rooms[1].code", "duplicate"),
    (
        "bad_email",
        _set("practitioners[0].email", "anna.weber"),
        "practitioners[0].email",
        "bad_email",
    ),
    ("section_given_as_null", _set("clinic", None), "clinic", "wrong_type"),
    ("section_not_a_list", _set("rooms", {}), "rooms", "wrong_type"),
    ("record_not_an_object", _set("rooms[0]", "R1"), "rooms[0]", "wrong_type"),
    ("sessions_as_true", _set("courses[0].sessions", True), "courses[0].sessions", "wrong_type"),
    ("address_not_text", _set("clinic.address", 5), "clinic.address", "wrong_type"),
    ("address_too_long", _set("clinic.address", "x" * 301), "clinic.address", "too_long"),
    (
        "no_show_policy_as_text",
        _set("clinic.policy.no_show_uses_session", "yes"),
        "clinic.policy.no_show_uses_session",
        "wrong_type",
    ),
    (
        "repeat_beside_a_bad_item",
        _set("courses[0].months", [10, 13, 10]),
        "courses[0].months[2]",
        "duplicate",
    ),
    (
        "overlap_beside_a_bad_interval",
        _set("clinic.opening_hours.mon", [["09:00", "12:00"], ["7pm", "8pm"], ["11:00", "13:00"]]),
        "clinic.opening_hours.mon[2]",
        "overlap",
    ),
    (
        "aftercare_blocking_beyond_the_maximum",
        _set("courses[0].aftercare[3].hours", 91 * 24),
        "courses[0].aftercare",
        "course_unbookable",
    ),
    # Text that ends up in an email header (a course's or procedure's name in a subject) or
    # that PostgreSQL cannot store (NUL) is one line of plain text (issue 15).
    (
        "line_break_in_a_course_name",
        _set("courses[0].name", "CO2\r\nBcc: everyone@example.com"),
        "courses[0].name",
        "control_character",
    ),
    (
        "nul_in_a_procedure_name",
        _set("procedures[0].name", "CO2\x00laser"),
        "procedures[0].name",
        "control_character",
    ),
    (
        "tab_in_the_clinic_name",
        _set("clinic.name", "Skin\tClinic"),
        "clinic.name",
        "control_character",
    ),
    (
        "escape_in_a_room_name",
        _set("rooms[0].name", "Room \x1b[31m1"),
        "rooms[0].name",
        "control_character",
    ),
    (
        "line_separator_in_a_restriction_text",
        _set("restrictions[0].text", "No sun\u2028for a week"),
        "restrictions[0].text",
        "control_character",
    ),
    (
        "control_character_in_a_practitioners_email",
        _set("practitioners[0].email", "anna\x01@example.com"),
        "practitioners[0].email",
        "bad_email",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field", "code"),
    [pytest.param(m, f, c, id=name) for name, m, f, c in BAD_INPUT],
)
def test_bad_input_is_refused_with_its_path_and_nothing_is_written(
    data, mutate, field, code
) -> None:
    mutate(data)

    with pytest.raises(InvalidData) as refused:
        import_catalogue(data)

    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in refused.value.errors
    ], refused.value.errors
    assert all(e["message"] for e in refused.value.errors)
    db.session.rollback()
    assert set(row_counts().values()) == {0}


def test_a_bad_reimport_leaves_the_stored_catalogue_as_it_was(data) -> None:
    import_catalogue(copy.deepcopy(data))
    before = export_catalogue()
    data["clinic"]["name"] = "Renamed Clinic"
    data["rooms"].append({"code": "R9", "name": "New room"})
    data["courses"][0]["aftercare"] = []
    data["courses"][-1]["sessions"] = 0

    with pytest.raises(InvalidData):
        import_catalogue(data)

    db.session.rollback()
    assert export_catalogue() == before


def test_every_error_is_listed_not_just_the_first(data) -> None:
    data["courses"][0]["sessions"] = 0
    data["courses"][1]["procedure"] = "nope"
    data["clinic"]["timezone"] = "Mars/Olympus"

    with pytest.raises(InvalidData) as refused:
        import_catalogue(data)

    fields = {e["field"] for e in refused.value.errors}
    assert {"courses[0].sessions", "courses[1].procedure", "clinic.timezone"} <= fields


def test_errors_in_the_files_structure_read_as_sentences(data) -> None:
    data["clinic"]["holidays"] = "2026-12-25"
    data["rooms"][0]["colour"] = "blue"
    del data["rooms"][1]["name"]
    data["courses"][0]["aftercare"][0] = "no_uv"

    with pytest.raises(InvalidData) as refused:
        import_catalogue(data)

    assert refused.value.errors == [
        {"code": "wrong_type", "message": "Expected a list.", "field": "clinic.holidays"},
        {"code": "unknown_field", "message": "Unknown field 'colour'.", "field": "rooms[0].colour"},
        {"code": "required", "message": "'name' is required.", "field": "rooms[1].name"},
        {
            "code": "wrong_type",
            "message": "Expected an object.",
            "field": "courses[0].aftercare[0]",
        },
    ]


def test_an_unknown_weekday_is_one_error_whatever_it_holds(data) -> None:
    data["practitioners"][0]["hours"]["someday"] = "09:00-17:00"

    with pytest.raises(InvalidData) as refused:
        import_catalogue(data)

    assert refused.value.errors == [
        {
            "code": "unknown_weekday",
            "message": "Unknown weekday 'someday'; use mon..sun.",
            "field": "practitioners[0].hours.someday",
        }
    ]


def test_a_file_that_is_not_an_object_is_refused(app) -> None:
    with pytest.raises(InvalidData) as refused:
        import_catalogue([])  # type: ignore[arg-type]

    assert refused.value.errors[0]["field"] == "$"


def test_references_may_point_to_records_already_in_the_database(data) -> None:
    import_catalogue(copy.deepcopy(data))

    report = import_catalogue(
        {
            "procedures": [
                {
                    "code": "co2_touch_up",
                    "name": "CO2 touch-up",
                    "duration_min": 30,
                    "qualification": "laser",
                    "device_kind": "co2_laser",
                    "blocked_by": ["no_resurfacing"],
                    "price": "120",
                }
            ],
            "courses": [
                {"code": "touch_up", "name": "Touch-up", "procedure": "co2_touch_up", "sessions": 1}
            ],
        }
    )

    assert report.counts["courses"].created == 1
    touch_up = next(c for c in export_catalogue()["courses"] if c["code"] == "touch_up")
    assert touch_up["max_interval_days"] is None and "months" not in touch_up


def _with_courses(data: dict[str, Any], n: int, prefix: str) -> dict[str, Any]:
    demo = data["courses"]
    courses = [
        demo[i % len(demo)] | {"code": f"{prefix}{i}", "name": f"Course {i}"} for i in range(n)
    ]
    return data | {"courses": courses}


def _statements(data: dict[str, Any]) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        import_catalogue(data)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_an_import_that_cannot_change_a_course_reads_no_appointment(data) -> None:
    # A time off, hours or opening hours change no course's rules: the booked courses need
    # not be counted, and counting them scanned every booked future session (issue 20).
    import_catalogue(copy.deepcopy(data))
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    anna = data["practitioners"][0]
    anna["time_off"] = [["2027-03-01", "2027-03-02"]]
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        report = import_catalogue({"practitioners": [anna]})
        with_courses = import_catalogue({"courses": data["courses"][:1]})
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert report.counts["practitioners"].updated == 1 and report.booked == {}
    assert with_courses.counts["courses"].unchanged == 1
    reads = [s for s in seen if "appointments" in s]
    # The course import still asks (its rules could have changed); the time off does not.
    assert len(reads) == 1, reads


def test_an_import_of_500_new_courses_runs_no_more_statements_than_one_of_50(data) -> None:
    # Issue 15: a query per record made 100,000 courses take more than 10 minutes. The
    # number of statements must not follow the number of records.
    few = _statements(_with_courses(data, 50, "a"))
    many = _statements(_with_courses(data, 500, "b"))
    assert many <= few, (few, many)
    again = _statements(_with_courses(data, 500, "b"))
    assert again <= few, (few, again)
    assert db.session.scalar(select(func.count()).select_from(Course)) == 550
    assert db.session.scalar(select(func.count()).select_from(CourseRestriction)) > 550
