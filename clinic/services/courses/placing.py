"""What a booking asks for and where it places a session: the requests, a planned session with
its care windows, a new appointment row, and the pre-care a booking may have to confirm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from clinic.models import (
    Appointment,
    Enrolment,
)
from clinic.scheduling import (
    CareWindow,
    CourseRules,
    Slot,
    Violation,
    precare_violation,
)
from clinic.services.core import clinic_setup
from clinic.services.world.aftercare import care_windows

LONGEST_SESSION = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class SessionRequest:
    start: datetime
    practitioner_id: int | None = None


@dataclass(frozen=True, slots=True)
class PlannedSession:
    session: int
    slot: Slot
    care: tuple[CareWindow, ...]


@dataclass(frozen=True, slots=True)
class CoursePlan:
    course_code: str
    client_id: int
    sessions: tuple[PlannedSession, ...]
    # What the client should know about the plan (e.g. it starts only next season, and why).
    notes: tuple[Violation, ...] = ()
    # The patch test the course needs first, planned with it (a session of `patch_test_course`).
    patch_test: PlannedSession | None = None
    patch_test_course: str | None = None


def precare_begun(slots: Sequence[Slot], course: CourseRules, now: datetime) -> list[int]:
    """Indexes of the slots whose pre-care had begun at `now` (rule 11's own function)."""
    tz = clinic_setup.clinic_tz()
    return [
        i
        for i, slot in enumerate(slots)
        if precare_violation(session=i + 1, start=slot.start, course=course, now=now, tz=tz)
    ]


def planned(slots: Sequence[Slot], course: CourseRules, first: int) -> tuple[PlannedSession, ...]:
    return tuple(
        PlannedSession(first + i, slot, care_windows(course, slot.start))
        for i, slot in enumerate(slots)
    )


def new_appointment(
    enrolment: Enrolment, number: int, slot: Slot, course: CourseRules, reason: str
) -> Appointment:
    return Appointment(
        enrolment=enrolment,  # a new enrolment's id comes with the flush that writes both
        session=number,
        client_id=enrolment.client_id,
        practitioner_id=slot.practitioner_id,
        device_id=slot.device_id,
        room_id=slot.room_id,
        start_at=slot.start,
        end_at=slot.end,
        busy_until_at=slot.end + course.procedure.buffer,
        status="booked",
        override_reason=reason,
    )


def place(appointment: Appointment, slot: Slot, course: CourseRules) -> None:
    appointment.start_at = slot.start
    appointment.end_at = slot.end
    appointment.busy_until_at = slot.end + course.procedure.buffer
    appointment.practitioner_id = slot.practitioner_id
    appointment.device_id = slot.device_id
    appointment.room_id = slot.room_id
    appointment.revise()


def only_practitioner(violations: Sequence[Violation]) -> bool:
    return all(v.code in ("practitioner_unavailable", "not_qualified") for v in violations)
