"""A session's rules and care dates: the one place the services turn a booked session into
the course rules it is judged by, and into its care windows.

An enrolment keeps the course rules it was booked under (`enrolments.rules`, DOMAIN.md "A
course over its lifetime"): sessions, spacing, care windows, contraindications and months are
frozen when it is booked, so a later edit of the template changes new bookings only, until
staff move the enrolment to the new rules (`services.rules_as_booked`). The procedure
(duration, buffer, device, qualification, what blocks it) stays the catalogue's live one:
it describes the room, the device and the people, not the client's plan.

The engine's `aftercare_calendar` needs the course's rules and the clinic's time zone; every
page, message, calendar file and API answer that shows an appointment's pre-care and
aftercare asks here, so they all show the same dates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from clinic.models import RESTRICTING_STATUSES, Appointment, Enrolment
from clinic.scheduling import (
    PHOTOTYPES,
    CareRule,
    CareWindow,
    ContraRule,
    CourseRules,
    ProcedureRules,
    aftercare_calendar,
    interned,
)
from clinic.services.core import clinic_setup
from clinic.services.core.db import db_session, per_transaction
from clinic.services.world import course_catalogue


def rules_record(course: CourseRules) -> dict[str, Any]:
    """What an enrolment keeps of its course's rules (`enrolments.rules`): everything but the
    procedure. Migration 0008 writes the same shape with SQL; keep the two in step."""
    return {
        "code": course.code,
        "name": course.name,
        "sessions": course.sessions,
        "min_interval_days": course.min_interval_days,
        "max_interval_days": course.max_interval_days,
        "ideal_interval_days": course.ideal_interval_days,
        "care": [
            {"code": c.code, "text": c.text, "kind": c.kind, "hours": c.hours, "phase": c.phase}
            for c in course.care
        ],
        "contraindications": [
            {"condition": c.condition, "lookback_days": c.lookback_days}
            for c in course.contraindications
        ],
        "months": sorted(course.months),
        "phototypes": sorted(course.phototypes),
    }


def _with_defaults(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """A kept record with what records kept before a rule existed read as that rule's
    default: enrolments booked before phototypes were kept treat every skin type."""
    if "phototypes" in record:
        return record
    return {**record, "phototypes": sorted(PHOTOTYPES)}


def rules_from_record(record: Mapping[str, Any], procedure: ProcedureRules) -> CourseRules:
    """The engine's rules from what an enrolment keeps, with the procedure as it is now."""
    record = _with_defaults(record)
    return interned(
        CourseRules(
            code=record["code"],
            name=record["name"],
            procedure=procedure,
            sessions=record["sessions"],
            min_interval_days=record["min_interval_days"],
            max_interval_days=record["max_interval_days"],
            care=tuple(
                CareRule(c["code"], c["text"], c["kind"], c["hours"], c["phase"])
                for c in record["care"]
            ),
            contraindications=tuple(
                ContraRule(c["condition"], c["lookback_days"]) for c in record["contraindications"]
            ),
            months=frozenset(record["months"]),
            ideal_interval_days=record["ideal_interval_days"],
            phototypes=frozenset(record["phototypes"]),
        )
    )


def same_rules(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two kept rule sets say the same, whatever the order of their care rows."""

    def key(record: Mapping[str, Any]) -> dict[str, Any]:
        record = _with_defaults(record)
        care = sorted(record["care"], key=lambda c: (c["phase"], c["code"]))
        contra = sorted(record["contraindications"], key=lambda c: c["condition"])
        return {**record, "care": care, "contraindications": contra}

    return key(a) == key(b)


def enrolment_rules(enrolment: Enrolment) -> CourseRules:
    """The rules a booked course is judged and shown by: the ones it was booked under (or
    moved to by staff), with the course's procedure as it is now. Read once per transaction
    however many of its sessions ask (a write reads it afresh)."""
    return kept_rules(
        enrolment.id,
        lambda: (enrolment.rules, course_catalogue.procedure_rules(enrolment.course.procedure)),
    )


def kept_rules(
    enrolment_id: int, read: Callable[[], tuple[Mapping[str, Any], ProcedureRules]]
) -> CourseRules:
    """`enrolment_rules` for a reader holding the enrolment's kept rules as plain values:
    `read()` gives them with the course's procedure, called only if this transaction has not
    worked them out yet (client_reads.client_states reads many clients' sessions at once)."""
    return per_transaction(
        f"aftercare.enrolment_rules:{enrolment_id}", lambda: rules_from_record(*read())
    )


def booked_enrolments(course_id: int, now: datetime) -> list[Enrolment]:
    """The course's enrolments with a booked session still to come, oldest first: the
    booked courses a template edit does not change."""
    to_come = select(Appointment.enrolment_id).where(Appointment.to_come(now))
    return list(
        db_session().scalars(
            select(Enrolment)
            .where(Enrolment.course_id == course_id, Enrolment.id.in_(to_come))
            .order_by(Enrolment.id)
        )
    )


def keeps_other_rules(enrolment: Enrolment, current: CourseRules) -> bool:
    """Whether the enrolment's kept rules differ from the course's rules `current`."""
    return not same_rules(enrolment.rules, rules_record(current))


def kept_rules_notice(count: int) -> str:
    """What a template edit means for the booked courses, in the clinic's words."""
    if count == 0:
        return "No booked course has sessions to come; this change applies to new bookings."
    courses = "1 booked course keeps" if count == 1 else f"{count} booked courses keep"
    its = "it was" if count == 1 else "they were"
    return (
        f"{courses} the rules {its} booked under; this change applies to new bookings. "
        "Move a booked course to the new rules from its page."
    )


def care_windows(course: CourseRules, start: datetime) -> tuple[CareWindow, ...]:
    """The pre-care and aftercare a session of `course` starting at `start` puts in force,
    with dates in the clinic's time zone (for a proposed session as for a booked one)."""
    return aftercare_calendar(start=start, course=course, tz=clinic_setup.clinic_tz())


def restricts(appointment: Appointment) -> bool:
    """Whether the session puts its course's care windows in force (`RESTRICTING_STATUSES`):
    a no-show starts no restriction and a cancellation lifts them (DOMAIN.md "Changing a
    plan")."""
    return appointment.status in RESTRICTING_STATUSES


def aftercare_for(appointment: Appointment) -> tuple[CareWindow, ...]:
    """The pre-care and aftercare windows of an appointment, by its enrolment's rules; none
    for a session that does not restrict. The one answer to "which sessions carry
    aftercare", for pages, API, emails and calendar files alike."""
    if not restricts(appointment):
        return ()
    return care_windows(enrolment_rules(appointment.enrolment), appointment.start_at)
