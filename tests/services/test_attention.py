"""Changes of the world (services/attention.py): a change that would break booked sessions
is shown first and saves nothing; confirmed, it flags exactly the sessions it breaks; undoing
the cause clears the flags."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import (
    AttentionFlag,
    CatalogueVersion,
    Client,
    Device,
    Holiday,
    Practitioner,
    TimeOff,
    WorkingHours,
)
from clinic.services import catalogue
from clinic.services.catalogue import catalogue_admin
from clinic.services.core.clinic_setup import clinic_tz
from clinic.services.courses import cancellation, moves
from clinic.services.lifetime import attention
from clinic.services.people import declared_periods, health_screening
from clinic.services.staffing import catalogue_file, opening_hours, practitioners, rooms, time_off
from clinic.services.world import flags as attention_flags
from tests import factories as f
from tests.clock import NOW


@pytest.fixture
def booked(app):
    f.make_clinic()
    practitioner = f.make_practitioner(name="Lena")
    f.make_course()
    client = f.make_client()
    desk = f.actor("receptionist")
    _, enrolment = f.plan_then_book(
        actor=desk, client_id=client.id, earliest=date(2026, 12, 1), now=NOW
    )
    return {
        "practitioner": practitioner,
        "appointments": list(enrolment.appointments),
        "admin": f.actor("admin"),
    }


def _day(a) -> date:
    return a.start_at.astimezone(clinic_tz()).date()


def flags() -> dict[int, list[str]]:
    rows = db.session.scalars(select(AttentionFlag)).all()
    return {r.appointment_id: [e["code"] for e in r.errors] for r in rows}


def time_off_count() -> int:
    return db.session.scalar(select(func.count()).select_from(TimeOff))


def test_time_off_over_a_session_is_shown_first_and_saves_nothing(booked) -> None:
    second = booked["appointments"][1]
    day = _day(second)
    change = time_off.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=day,
        end_on=day,
        now=NOW,
    )
    assert not change.saved and change.needs_confirmation
    assert [b.appointment_id for b in change.broken] == [second.id]
    assert change.broken[0].violations[0].code == "practitioner_unavailable"
    assert change.broken[0].practitioner_name == "Lena"
    assert time_off_count() == 0
    assert flags() == {}


def test_confirmed_time_off_flags_exactly_the_broken_session(booked) -> None:
    second = booked["appointments"][1]
    day = _day(second)
    change = time_off.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=day,
        end_on=day,
        confirm=True,
        now=NOW,
    )
    assert change.saved
    assert time_off_count() == 1
    assert flags() == {second.id: ["practitioner_unavailable"]}
    flag = db.session.get(AttentionFlag, second.id)
    assert flag is not None and "Time off for Lena" in flag.cause


def test_removing_the_time_off_clears_the_flag(booked) -> None:
    second = booked["appointments"][1]
    day = _day(second)
    time_off.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=day,
        end_on=day,
        confirm=True,
        now=NOW,
    )
    row = db.session.scalar(select(TimeOff))
    change = time_off.remove_time_off(actor=booked["admin"], time_off_id=row.id, now=NOW)
    assert change.saved and change.broken == ()
    assert flags() == {}


def test_time_off_breaking_nothing_is_saved_without_asking(booked) -> None:
    free = date(2026, 11, 30)  # a Monday before the course starts
    change = time_off.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=free,
        end_on=free,
        now=NOW,
    )
    assert change.saved and change.broken == ()
    assert time_off_count() == 1


def test_a_flag_outside_the_scope_is_left_alone(booked) -> None:
    first, second, third = booked["appointments"][:3]
    for a in (second, third):
        time_off.add_time_off(
            actor=booked["admin"],
            practitioner_id=booked["practitioner"].id,
            start_on=_day(a),
            end_on=_day(a),
            confirm=True,
            now=NOW,
        )
    assert set(flags()) == {second.id, third.id}
    row = db.session.scalar(select(TimeOff).where(TimeOff.start_on == _day(second)))
    time_off.remove_time_off(actor=booked["admin"], time_off_id=row.id, now=NOW)
    assert set(flags()) == {third.id}
    attention_flags.forget([third.id])
    db.session.commit()
    assert flags() == {}


def flag_second(booked) -> int:
    second = booked["appointments"][1]
    time_off.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=_day(second),
        end_on=_day(second),
        confirm=True,
        now=NOW,
    )
    assert set(flags()) == {second.id}
    return second.id


def test_cancelling_a_flagged_session_drops_its_flag(booked) -> None:
    second = flag_second(booked)
    cancellation.cancel_appointment(actor=booked["admin"], appointment_id=second, now=NOW)
    assert flags() == {}


def test_moving_a_flagged_session_drops_its_flag(booked) -> None:
    second = flag_second(booked)
    appointment = booked["appointments"][1]
    other = f.make_practitioner(name="Jonas")
    moves.move_appointment(
        actor=booked["admin"],
        appointment_id=second,
        start=appointment.start_at,
        practitioner_id=other.id,
        now=NOW,
    )
    assert flags() == {}


def test_cancelling_the_course_drops_every_flag(booked) -> None:
    flag_second(booked)
    enrolment_id = booked["appointments"][0].enrolment_id
    cancellation.cancel_enrolment(actor=booked["admin"], enrolment_id=enrolment_id, now=NOW)
    assert flags() == {}


# --- every change of the world ------------------------------------------------------------------


def _ids(appointments) -> set[int]:
    return {a.id for a in appointments}


def _on_weekday(appointments, weekday: int) -> list:
    return [a for a in appointments if _day(a).weekday() == weekday]


def _hours_without(weekday: int) -> dict[str, list[list[str]]]:
    names = catalogue.WEEKDAYS
    return {names[d]: [["09:00", "17:00"]] for d in range(5) if d != weekday}


def _save_lena(booked, *, hours=None, qualifications=None, confirm=False):
    return practitioners.save_practitioner(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        name="Lena",
        email=booked["practitioner"].email,
        qualifications=qualifications if qualifications is not None else ["peel", "laser"],
        hours=hours if hours is not None else _hours_without(-1),
        confirm=confirm,
        now=NOW,
    )


def test_fewer_working_hours_show_first_then_flag_that_weekday_and_clear_when_back(
    booked,
) -> None:
    second = booked["appointments"][1]
    weekday = _day(second).weekday()
    hit = _on_weekday(booked["appointments"], weekday)

    row, change = _save_lena(booked, hours=_hours_without(weekday))
    assert row is None and change.needs_confirmation
    assert {b.appointment_id for b in change.broken} == _ids(hit)
    stored = practitioners.practitioner_values(
        db.session.get(Practitioner, booked["practitioner"].id)
    )
    assert catalogue.WEEKDAYS[weekday] in stored["hours"]  # nothing saved
    assert flags() == {}

    row, change = _save_lena(booked, hours=_hours_without(weekday), confirm=True)
    assert row is not None and change.saved
    assert set(flags()) == _ids(hit)
    assert all("practitioner_unavailable" in codes for codes in flags().values())

    row, change = _save_lena(booked)  # the hours back: judged again, unflagged
    assert change.saved and change.broken == ()
    assert flags() == {}


def test_losing_a_qualification_flags_every_session_of_that_practitioner(booked) -> None:
    row, change = _save_lena(booked, qualifications=["laser"], confirm=True)
    assert change.saved
    assert set(flags()) == _ids(booked["appointments"])


def test_deactivating_a_practitioner_asks_then_flags_and_activating_clears(booked) -> None:
    pid = booked["practitioner"].id
    change = practitioners.set_practitioner_active(
        actor=booked["admin"], practitioner_id=pid, active=False, now=NOW
    )
    assert change.needs_confirmation
    assert db.session.get(Practitioner, pid).active
    change = practitioners.set_practitioner_active(
        actor=booked["admin"], practitioner_id=pid, active=False, confirm=True, now=NOW
    )
    assert change.saved and set(flags()) == _ids(booked["appointments"])
    practitioners.set_practitioner_active(
        actor=booked["admin"], practitioner_id=pid, active=True, now=NOW
    )
    assert flags() == {}


def test_a_holiday_flags_the_session_of_that_day_only_and_removing_it_clears(booked) -> None:
    second = booked["appointments"][1]
    day = _day(second)
    change = opening_hours.add_holiday(actor=booked["admin"], day=day, name="Closed", now=NOW)
    assert change.needs_confirmation and [b.appointment_id for b in change.broken] == [second.id]
    assert db.session.scalar(select(func.count()).select_from(Holiday)) == 0

    change = opening_hours.add_holiday(
        actor=booked["admin"], day=day, name="Closed", confirm=True, now=NOW
    )
    assert change.saved and set(flags()) == {second.id}
    holiday = db.session.scalar(select(Holiday))
    change = opening_hours.remove_holiday(actor=booked["admin"], holiday_id=holiday.id, now=NOW)
    assert change.saved and flags() == {}


def _opening(closed: int | None) -> dict[str, list[list[str]]]:
    return {catalogue.WEEKDAYS[d]: [["09:00", "19:00"]] for d in range(6) if d != closed}


def test_closing_a_weekday_flags_the_sessions_of_that_weekday_only(booked) -> None:
    second = booked["appointments"][1]
    weekday = _day(second).weekday()
    hit = _on_weekday(booked["appointments"], weekday)
    change = opening_hours.set_opening_hours(
        actor=booked["admin"], hours=_opening(weekday), now=NOW
    )
    assert change.needs_confirmation
    assert {b.appointment_id for b in change.broken} == _ids(hit)
    assert catalogue.WEEKDAYS[weekday] in opening_hours.opening_hours_json()

    change = opening_hours.set_opening_hours(
        actor=booked["admin"], hours=_opening(weekday), confirm=True, now=NOW
    )
    assert change.saved and set(flags()) == _ids(hit)
    opening_hours.set_opening_hours(actor=booked["admin"], hours=_opening(None), now=NOW)
    assert flags() == {}


def test_opening_hours_judge_only_the_weekdays_that_changed(booked) -> None:
    second = booked["appointments"][1]
    day = _day(second)
    time_off.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=day,
        end_on=day,
        confirm=True,
        now=NOW,
    )
    other = (day.weekday() + 1) % 6  # another opening day; its hours get shorter
    hours = _opening(None)
    hours[catalogue.WEEKDAYS[other]] = [["10:00", "18:00"]]
    change = opening_hours.set_opening_hours(actor=booked["admin"], hours=hours, now=NOW)
    assert change.saved
    flag = db.session.get(AttentionFlag, second.id)
    assert flag is not None and flag.cause.startswith("Time off")  # not judged again
    assert attention.judge(attention.on_weekdays([], now=NOW), now=NOW) == []
    in_scope = attention.judge(attention.on_weekdays([day.weekday()], now=NOW), now=NOW)
    assert [b.appointment_id for b in in_scope] == [second.id]


@pytest.fixture
def laser(booked):
    device = f.make_device()
    procedure = f.make_procedure(
        code="laser",
        name="CO2 laser",
        qualification="laser",
        device_kind="co2_laser",
        blocked_by=[],
    )
    f.make_course(
        code="laser_course",
        name="CO2 laser, 3 sessions",
        procedure=procedure,
        sessions=3,
        aftercare=[],
        contraindications=[],
    )
    client = f.make_client()
    desk = f.actor("receptionist")
    _, enrolment = f.plan_then_book(
        actor=desk,
        client_id=client.id,
        earliest=date(2026, 12, 2),
        course_code="laser_course",
        now=NOW,
    )
    return {**booked, "device": device, "laser": list(enrolment.appointments)}


def test_a_device_out_of_use_flags_its_sessions_and_back_in_use_clears(laser) -> None:
    device = laser["device"]
    change = rooms.set_active(
        actor=laser["admin"], kind="device", record_id=device.id, active=False, now=NOW
    )
    assert change.needs_confirmation
    assert {b.appointment_id for b in change.broken} == _ids(laser["laser"])
    assert db.session.get(Device, device.id).active

    rooms.set_active(
        actor=laser["admin"],
        kind="device",
        record_id=device.id,
        active=False,
        confirm=True,
        now=NOW,
    )
    assert set(flags()) == _ids(laser["laser"])  # the peel sessions need no device
    assert all("device_unavailable" in codes for codes in flags().values())
    change = rooms.set_active(
        actor=laser["admin"], kind="device", record_id=device.id, active=True, now=NOW
    )
    assert change.saved and flags() == {}


def test_a_room_out_of_use_flags_the_sessions_booked_in_it(laser) -> None:
    everything = laser["appointments"] + laser["laser"]
    room_id = everything[0].room_id
    in_room = [a for a in everything if a.room_id == room_id]
    rooms.set_active(
        actor=laser["admin"], kind="room", record_id=room_id, active=False, confirm=True, now=NOW
    )
    assert set(flags()) == _ids(in_room)
    assert all("room_unavailable" in codes for codes in flags().values())
    rooms.set_active(actor=laser["admin"], kind="room", record_id=room_id, active=True, now=NOW)
    assert flags() == {}


def test_a_procedure_edit_flags_the_sessions_of_its_courses_only(laser) -> None:
    editor = f.actor("admin")
    values = catalogue_admin.as_values(catalogue_admin.get_record("procedure", "peel"))
    values["qualification"] = "chemical_peel"  # Lena is not qualified for it
    change = catalogue_admin.save(
        actor=editor, kind="procedure", values=values, create=False, now=NOW
    )
    assert change.needs_confirmation
    assert {b.appointment_id for b in change.broken} == _ids(laser["appointments"])
    assert catalogue_admin.get_record("procedure", "peel").qualification == "peel"

    change = catalogue_admin.save(
        actor=editor, kind="procedure", values=values, create=False, confirm=True, now=NOW
    )
    assert change.saved and set(flags()) == _ids(laser["appointments"])


def test_a_course_edit_breaks_no_booking(laser) -> None:
    editor = f.actor("admin")
    values = catalogue_admin.as_values(catalogue_admin.get_record("course", "laser_course"))
    values["name"] = "CO2 laser course"
    change = catalogue_admin.save(actor=editor, kind="course", values=values, create=False)
    assert change.saved and change.broken == ()


def _lena_file(booked, hours) -> dict:
    p = db.session.get(Practitioner, booked["practitioner"].id)
    return {"practitioners": [{**practitioners.practitioner_values(p), "hours": hours}]}


def test_the_import_page_shows_what_a_file_breaks_then_flags_it(booked) -> None:
    second = booked["appointments"][1]
    weekday = _day(second).weekday()
    hit = _on_weekday(booked["appointments"], weekday)
    data = _lena_file(booked, _hours_without(weekday))
    report, change = catalogue_file.import_catalogue(actor=booked["admin"], data=data, now=NOW)
    assert change.needs_confirmation and {b.appointment_id for b in change.broken} == _ids(hit)
    assert flags() == {}
    report, change = catalogue_file.import_catalogue(
        actor=booked["admin"], data=data, confirm=True, now=NOW
    )
    assert change.saved and report.changed and set(flags()) == _ids(hit)


def _catalogue_state() -> tuple:
    version = db.session.scalar(select(CatalogueVersion.version))
    hours = db.session.scalar(select(func.count()).select_from(WorkingHours))
    return version, hours, db.session.scalar(select(func.count()).select_from(AttentionFlag))


def test_a_dry_run_import_judges_the_file_and_writes_nothing(booked) -> None:
    second = booked["appointments"][1]
    weekday = _day(second).weekday()
    before = _catalogue_state()
    data = _lena_file(booked, _hours_without(weekday))
    report, change = catalogue_file.import_catalogue_file(data, dry_run=True, now=NOW)
    assert not change.saved and report.changed
    assert {b.appointment_id for b in change.broken} == _ids(
        _on_weekday(booked["appointments"], weekday)
    )
    db.session.expire_all()
    assert _catalogue_state() == before


def test_a_clients_new_condition_is_kept_and_flags_their_sessions(booked) -> None:
    client = db.session.get(Client, booked["appointments"][0].client_id)
    me = f.client_actor(client)
    pregnant = [health_screening.ConditionAnswer("pregnancy", True, None)]
    change = health_screening.save_screening(actor=me, answers=pregnant, now=NOW)
    assert change.saved
    assert set(flags()) == _ids(booked["appointments"])
    assert all("contraindicated" in codes for codes in flags().values())

    change = health_screening.save_screening(actor=me, answers=[], now=NOW)  # no longer
    assert change.saved and flags() == {}


def test_staff_recording_a_condition_see_the_sessions_first(booked) -> None:
    client_id = booked["appointments"][0].client_id
    pregnant = [health_screening.ConditionAnswer("pregnancy", True, None)]
    change = health_screening.save_screening(
        actor=f.actor("receptionist"),
        client_id=client_id,
        answers=pregnant,
        confirm=False,
        now=NOW,
    )
    assert change.needs_confirmation
    assert {b.appointment_id for b in change.broken} == _ids(booked["appointments"])
    db.session.expire_all()
    assert db.session.get(Client, client_id).conditions == []
    assert flags() == {}


def test_a_declared_period_flags_the_session_whose_aftercare_it_meets(booked) -> None:
    second = booked["appointments"][1]
    client = db.session.get(Client, second.client_id)
    me = f.client_actor(client)
    day = _day(second) + timedelta(days=2)  # inside the 7 days without sun
    period, change = declared_periods.add_period(
        actor=me, kind="sun_exposure", start_on=day, end_on=day, now=NOW
    )
    assert change.saved and [b.appointment_id for b in change.broken] == [second.id]
    assert set(flags()) == {second.id}
    change = declared_periods.remove_period(actor=me, period_id=period.id, now=NOW)
    assert change.saved and flags() == {}


def test_a_flag_still_broken_the_same_way_keeps_its_cause(booked) -> None:
    second = booked["appointments"][1]
    day = _day(second)
    time_off.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=day,
        end_on=day,
        confirm=True,
        now=NOW,
    )
    opening_hours.add_holiday(actor=booked["admin"], day=day + timedelta(days=1), name="x", now=NOW)
    holiday = db.session.scalar(select(Holiday))
    opening_hours.remove_holiday(actor=booked["admin"], holiday_id=holiday.id, now=NOW)
    # The holiday's day is not the session's day: only the time off explains the flag.
    flag = db.session.get(AttentionFlag, second.id)
    assert flag is not None and flag.cause.startswith("Time off for Lena")
    opening_hours.add_holiday(actor=booked["admin"], day=day, name="Closed", confirm=True, now=NOW)
    holiday = db.session.scalar(select(Holiday).where(Holiday.day == day))
    opening_hours.remove_holiday(actor=booked["admin"], holiday_id=holiday.id, now=NOW)
    # Still broken by the time off: the removal is never the cause, the rule sentence says why.
    flag = db.session.get(AttentionFlag, second.id)
    assert flag is not None and flag.cause != "Holiday removed"
    assert [e["code"] for e in flag.errors] == ["practitioner_unavailable"]
