"""What a client may book, shown before booking (DOMAIN.md "Planning a course"): which courses
the client's screening rules out and from when it would not, the care dates each proposed start
would put in force, and the practitioners qualified for a course."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select

from clinic.models import Client, Course, Practitioner, PractitionerQualification, utcnow
from clinic.scheduling import CareWindow, ConditionState
from clinic.scheduling.rules import (
    contraindication_violations,
    earliest_allowed_by_contraindications,
)
from clinic.scheduling.timeutil import at
from clinic.scheduling.wording import long_day_text
from clinic.services.core import clinic_setup, date_range
from clinic.services.core.db import db_session
from clinic.services.world import course_catalogue
from clinic.services.world.aftercare import care_windows


@dataclass(frozen=True, slots=True)
class CourseOutlook:
    """Whether the client's screening rules a course out, why, and from when it would not."""

    reasons: tuple[str, ...] = ()
    earliest: date | None = None

    @property
    def ruled_out(self) -> bool:
        return bool(self.reasons)

    @property
    def from_text(self) -> str | None:
        return long_day_text(self.earliest) if self.earliest is not None else None


def course_outlook(
    client: Client, courses: Sequence[Course], now: datetime | None = None
) -> dict[str, CourseOutlook]:
    """For each course, what the engine's contraindication rule says about booking it today."""
    now = now or utcnow()
    tz = clinic_setup.clinic_tz()
    today = date_range.clinic_today(now)
    noon = at(today, time(12), tz)
    conditions: Mapping[str, ConditionState] = {
        c.code: ConditionState(c.present, c.last_on) for c in client.conditions
    }
    out: dict[str, CourseOutlook] = {}
    for course in courses:
        rules = course_catalogue.course_rules(course)
        found = contraindication_violations(
            session=1,
            start=noon,
            course=rules,
            conditions=conditions,
            tz=tz,
            phototype=client.phototype,
        )
        if not found:
            out[course.code] = CourseOutlook()
            continue
        earliest = earliest_allowed_by_contraindications(rules, conditions, client.phototype)
        out[course.code] = CourseOutlook(
            tuple(v.message for v in found), earliest if earliest != date.min else None
        )
    return out


def care_for_starts(course_code: str, starts: Sequence[datetime]) -> list[tuple[CareWindow, ...]]:
    """The care windows each proposed start would put in force, for showing before booking."""
    rules = course_catalogue.course_rules(course_catalogue.get_course(course_code))
    return [care_windows(rules, start) for start in starts]


def practitioner_choices(course_code: str) -> list[Practitioner]:
    """Active practitioners qualified for the course's procedure, by name."""
    course = course_catalogue.get_course(course_code)
    return list(
        db_session().scalars(
            select(Practitioner)
            .join(PractitionerQualification)
            .where(
                Practitioner.active.is_(True),
                PractitionerQualification.qualification == course.procedure.qualification,
            )
            .order_by(Practitioner.name)
        )
    )
