"""Rules 6 to 8 and the slot grid: practitioners, devices, rooms, clinic hours; availability."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from clinic.scheduling import Equipment, ProposedSession, available_slots

from .builders import (
    ANNA,
    BEN,
    LASER,
    LASER_COURSE,
    LASER_DEVICE,
    PEEL,
    PEEL_COURSE,
    ROOM_1,
    ROOM_2,
    TZ,
    check,
    clinic_rules,
    codes,
    d,
    local_at,
    occupancy,
    one,
    plain,
    practitioner,
    snapshot,
)

PEEL_ONLY = plain(PEEL_COURSE)
LASER_ONLY = plain(LASER_COURSE)
TUESDAY = d("2026-01-13")


def at(hh: int, mm: int = 0, day=TUESDAY):
    return local_at(day, hh, mm)


def with_anna(start):
    return ProposedSession(1, start, ANNA)


# Rule 6 ------------------------------------------------------------------------------------


def test_practitioner_must_be_qualified() -> None:
    snap = snapshot(practitioners=[practitioner(ANNA), practitioner(BEN, qualifications={"peel"})])
    result = check(ProposedSession(1, at(10), BEN), course=LASER_ONLY, snap=snap)
    assert codes(result) == {"not_qualified"}
    assert check(ProposedSession(1, at(10), ANNA), course=LASER_ONLY, snap=snap).ok


def test_no_qualified_practitioner_at_all_is_not_qualified() -> None:
    snap = snapshot(practitioners=[practitioner(BEN, qualifications={"massage"})])
    assert codes(check(at(10), course=PEEL_ONLY, snap=snap)) == {"not_qualified"}


MORNINGS = {wd: ((time(9, 0), time(13, 0)),) for wd in range(5)}


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(12, 15), set()),  # ends 13:00; the buffer may run past the shift
        (at(12, 30), {"practitioner_unavailable"}),
        (at(9, 0, d("2026-01-17")), {"practitioner_unavailable"}),  # Saturday: not working
    ],
)
def test_session_lies_inside_working_hours(start, expected) -> None:
    snap = snapshot(practitioners=[practitioner(ANNA, hours=MORNINGS)])
    assert codes(check(with_anna(start), course=PEEL_ONLY, snap=snap)) == expected


def test_touching_shifts_count_as_one_working_stretch() -> None:
    split = {wd: ((time(9, 0), time(13, 0)), (time(13, 0), time(18, 0))) for wd in range(6)}
    snap = snapshot(practitioners=[practitioner(ANNA, hours=split)])
    assert check(with_anna(at(12, 30)), course=PEEL_ONLY, snap=snap).ok


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2026-01-16", {"practitioner_unavailable"}), ("2026-01-17", set())],
)
def test_practitioner_on_time_off_is_unavailable(day, expected) -> None:
    off = ((d("2026-01-12"), d("2026-01-16")),)
    snap = snapshot(practitioners=[practitioner(ANNA, time_off=off)])
    assert codes(check(with_anna(local_at(d(day))), course=PEEL_ONLY, snap=snap)) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(8 + 1, 0), set()),  # 09:00-09:45 + 15 min buffer ends at 10:00
        (at(9, 15), {"practitioner_unavailable"}),  # its own buffer would run into 10:00
        (at(10, 45), {"practitioner_unavailable"}),  # inside the other's buffer
        (at(11, 0), set()),  # exactly when the other's buffer ends
    ],
)
def test_practitioner_is_busy_during_a_session_and_its_buffer(start, expected) -> None:
    snap = snapshot([occupancy(at(10), PEEL, practitioner_id=ANNA, room_id=ROOM_1)])
    result = check(with_anna(start), course=PEEL_ONLY, snap=snap)
    assert codes(result) == expected
    if expected:
        assert one(result, "practitioner_unavailable").conflict is True


def test_any_practitioner_is_chosen_when_the_first_is_busy() -> None:
    snap = snapshot([occupancy(at(10), PEEL, practitioner_id=ANNA)])
    result = check(at(10), course=PEEL_ONLY, snap=snap)
    assert result.ok
    assert result.slots[0].practitioner_id == BEN
    assert result.slots[0].room_id == ROOM_2


# Rule 7 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [(at(11, 0), {"device_unavailable"}), (at(11, 30), set()), (at(8 + 1), {"device_unavailable"})],
)
def test_shared_device_is_busy_for_every_practitioner(start, expected) -> None:
    # Ben uses the only laser 10:00-11:00 plus 30 minutes cooling.
    snap = snapshot([occupancy(at(10), LASER, practitioner_id=BEN, device_id=LASER_DEVICE)])
    result = check(with_anna(start), course=LASER_ONLY, snap=snap)
    assert codes(result) == expected
    if expected:
        violation = one(result, "device_unavailable")
        assert violation.conflict is True
    else:
        assert result.slots[0].device_id == LASER_DEVICE


def test_a_second_device_of_the_kind_is_used_when_the_first_is_busy() -> None:
    devices = [Equipment(1, "CO2 laser", "co2_laser"), Equipment(2, "CO2 laser 2", "co2_laser")]
    snap = snapshot([occupancy(at(10), LASER, practitioner_id=BEN, device_id=1)], devices=devices)
    result = check(with_anna(at(10)), course=LASER_ONLY, snap=snap)
    assert result.slots[0].device_id == 2


def test_clinic_without_the_device_cannot_book_it() -> None:
    result = check(at(10), course=LASER_ONLY, snap=snapshot(devices=[]))
    violation = one(result, "device_unavailable")
    assert violation.conflict is False


@pytest.mark.parametrize(
    ("start", "expected"),
    [(at(10, 30), {"room_unavailable"}), (at(11, 0), set())],
)
def test_room_is_held_for_the_session_and_its_buffer(start, expected) -> None:
    snap = snapshot(
        [occupancy(at(10), PEEL, practitioner_id=BEN, room_id=ROOM_1)],
        rooms=[Equipment(ROOM_1, "Room 1")],
    )
    result = check(with_anna(start), course=PEEL_ONLY, snap=snap)
    assert codes(result) == expected
    if expected:
        assert one(result, "room_unavailable").conflict is True


# Rule 8 and the grid -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(17, 15), set()),  # ends exactly at closing
        (at(17, 30), {"clinic_closed"}),
        (at(8, 45), {"clinic_closed"}),
        (at(9, 0), set()),
        (local_at(d("2026-01-18")), {"clinic_closed"}),  # Sunday
        (local_at(d("2026-01-06")), {"clinic_closed"}),  # holiday
    ],
)
def test_session_lies_inside_opening_hours_and_not_on_a_holiday(start, expected) -> None:
    snap = snapshot(clinic=clinic_rules(holidays=frozenset({d("2026-01-06")})))
    assert codes(check(start, course=PEEL_ONLY, snap=snap)) == expected


@pytest.mark.parametrize("minute", [5, 10, 14])
def test_start_off_the_slot_grid_is_refused(minute) -> None:
    assert codes(check(at(10, minute), course=PEEL_ONLY)) == {"not_on_slot_grid"}


def test_slot_grid_follows_the_clinic_setting() -> None:
    snap = snapshot(clinic=clinic_rules(slot_minutes=10))
    assert check(at(10, 10), course=PEEL_ONLY, snap=snap).ok
    assert codes(check(at(10, 15), course=PEEL_ONLY, snap=snap)) == {"not_on_slot_grid"}


# available_slots -----------------------------------------------------------------------------


def starts(slots, pid=None):
    return [
        s.start.astimezone(TZ).strftime("%H:%M") for s in slots if pid in (None, s.practitioner_id)
    ]


def grid(first: str, last: str, step: int = 15) -> list[str]:
    h, m = map(int, first.split(":"))
    out = []
    t = h * 60 + m
    h2, m2 = map(int, last.split(":"))
    while t <= h2 * 60 + m2:
        out.append(f"{t // 60:02d}:{t % 60:02d}")
        t += step
    return out


def test_available_slots_cover_the_grid_inside_opening_hours() -> None:
    slots = available_slots(snapshot=snapshot(), procedure=PEEL, day=TUESDAY, practitioner_id=ANNA)
    assert starts(slots) == grid("09:00", "17:15")
    assert all(s.end - s.start == timedelta(minutes=45) for s in slots)


def test_available_slots_respect_buffers_of_both_sessions() -> None:
    snap = snapshot([occupancy(at(10), PEEL, practitioner_id=ANNA)])
    slots = available_slots(snapshot=snap, procedure=PEEL, day=TUESDAY, practitioner_id=ANNA)
    assert starts(slots) == ["09:00", *grid("11:00", "17:15")]


def test_available_slots_ignore_the_appointment_being_moved() -> None:
    moving = occupancy(at(10), PEEL, practitioner_id=ANNA)
    slots = available_slots(
        snapshot=snapshot([moving]),
        procedure=PEEL,
        day=TUESDAY,
        practitioner_id=ANNA,
        ignore=frozenset({moving.appointment_id}),
    )
    assert starts(slots) == grid("09:00", "17:15")


def test_available_slots_are_empty_on_time_off_and_holidays() -> None:
    off = snapshot(practitioners=[practitioner(ANNA, time_off=((TUESDAY, TUESDAY),))])
    assert available_slots(snapshot=off, procedure=PEEL, day=TUESDAY) == []
    holiday = snapshot(clinic=clinic_rules(holidays=frozenset({TUESDAY})))
    assert available_slots(snapshot=holiday, procedure=PEEL, day=TUESDAY) == []
    assert available_slots(snapshot=snapshot(), procedure=PEEL, day=d("2026-01-18")) == []


def test_available_slots_share_the_device_across_practitioners() -> None:
    snap = snapshot([occupancy(at(10), LASER, practitioner_id=BEN, device_id=LASER_DEVICE)])
    slots = available_slots(snapshot=snap, procedure=LASER, day=TUESDAY)
    # 60 min + 30 min cooling: nobody may start between 08:30 and 11:30 (exclusive).
    assert starts(slots, ANNA) == grid("11:30", "17:00")
    assert starts(slots, BEN) == grid("11:30", "17:00")


def test_available_slots_one_per_practitioner_and_start() -> None:
    slots = available_slots(snapshot=snapshot(), procedure=PEEL, day=TUESDAY)
    assert len(slots) == 2 * len(grid("09:00", "17:15"))
    assert {s.practitioner_id for s in slots} == {ANNA, BEN}


def test_available_slots_time_window_filters_start_and_end() -> None:
    slots = available_slots(
        snapshot=snapshot(),
        procedure=PEEL,
        day=TUESDAY,
        practitioner_id=ANNA,
        time_from=time(13, 0),
        time_to=time(15, 0),
    )
    assert starts(slots) == grid("13:00", "14:15")


def test_touching_opening_hours_count_as_one_stretch() -> None:
    split = {wd: ((time(9, 0), time(13, 0)), (time(13, 0), time(18, 0))) for wd in range(6)}
    snap = snapshot(clinic=clinic_rules(opening=split))
    assert check(at(12, 30), course=PEEL_ONLY, snap=snap).ok
    slots = available_slots(snapshot=snap, procedure=PEEL, day=TUESDAY, practitioner_id=ANNA)
    assert starts(slots) == grid("09:00", "17:15")


# Sessions of one request (a course with a minimum interval of 0 days) ----------------------

SAME_DAY = plain(PEEL_COURSE, sessions=2, min_interval_days=0, max_interval_days=3)


@pytest.mark.parametrize(
    ("second", "expected"),
    [(at(9, 45), {"practitioner_unavailable"}), (at(10, 0), set())],
)
def test_sessions_of_one_request_hold_the_practitioner_for_their_buffer(second, expected) -> None:
    snap = snapshot(practitioners=[practitioner(ANNA)])
    result = check(with_anna(at(9)), ProposedSession(2, second, ANNA), course=SAME_DAY, snap=snap)
    assert codes(result) == expected


def test_sessions_of_one_request_do_not_share_a_room_or_device_at_once() -> None:
    course = plain(LASER_COURSE, sessions=2, min_interval_days=0, max_interval_days=3)
    result = check(
        ProposedSession(1, at(9), ANNA), ProposedSession(2, at(10, 0), BEN), course=course
    )
    # Anna's laser session holds the device until 10:30 (60 min + 30 min cooling).
    assert codes(result) == {"device_unavailable"}
    result = check(
        ProposedSession(1, at(9), ANNA), ProposedSession(2, at(10, 30), BEN), course=course
    )
    assert result.ok
    assert result.slots[0].room_id == result.slots[1].room_id == ROOM_1
