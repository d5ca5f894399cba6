"""A session's care dates: the one place the services turn a session into its care windows.

The engine's `aftercare_calendar` needs the course's rules and the clinic's time zone; every
page, message, calendar file and API answer that shows an appointment's pre-care and
aftercare asks here, so they all show the same dates.
"""

from __future__ import annotations

from datetime import datetime

from clinic.models import Appointment
from clinic.scheduling import CareWindow, CourseRules, aftercare_calendar
from clinic.services import clinic_setup, course_catalogue
from clinic.services.db import per_transaction


def course_rules_as_booked(code: str) -> CourseRules:
    """A course's rules as the engine sees them, retired courses included (a booked session
    keeps its course's care); read once per transaction however many sessions ask."""
    return per_transaction(
        f"aftercare.course_rules:{code}",
        lambda: course_catalogue.course_rules(
            course_catalogue.get_course(code, include_retired=True)
        ),
    )


def care_windows(course: CourseRules, start: datetime) -> tuple[CareWindow, ...]:
    """The pre-care and aftercare a session of `course` starting at `start` puts in force,
    with dates in the clinic's time zone (for a proposed session as for a booked one)."""
    return aftercare_calendar(start=start, course=course, tz=clinic_setup.clinic_tz())


def aftercare_for(appointment: Appointment) -> tuple[CareWindow, ...]:
    """The pre-care and aftercare windows of a booked appointment."""
    return care_windows(
        course_rules_as_booked(appointment.enrolment.course.code), appointment.start_at
    )
