"""Importing a catalogue file (API.md), in the caller's transaction or in its own.

The whole file is read and checked first (`schema.read_catalogue`, then the rules that need
the database); on any error nothing is written. Then `write` writes it, and the report counts,
for each course whose rules the import changed, how many booked courses keep the rules they
were booked under (DOMAIN.md "A course over its lifetime").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from clinic.models import Appointment, Course, Device, Enrolment, Procedure, Restriction, utcnow
from clinic.services.catalogue.fields import Known
from clinic.services.catalogue.report import ImportReport, SectionCount
from clinic.services.catalogue.schema import CatalogueFile, check_courses_bookable, read_catalogue
from clinic.services.catalogue.write import write
from clinic.services.core.cache import catalogue_changed
from clinic.services.core.db import transaction
from clinic.services.world.aftercare import booked_enrolments, keeps_other_rules, rules_record
from clinic.services.world.course_catalogue import course_options, course_rules


def _read(s: Session, data: Any) -> tuple[CatalogueFile, list[dict[str, str]]]:
    """The whole file checked against itself and the database: what to write and the
    warnings, or `InvalidData` listing every error."""
    known = Known(
        frozenset(s.scalars(select(Restriction.code))),
        frozenset(s.scalars(select(Procedure.code))),
        frozenset(s.scalars(select(Device.kind))),
    )
    file = read_catalogue(data, known)
    blocked_by = {
        p.code: {r.code for r in p.blocked_by}
        for p in s.scalars(select(Procedure).options(selectinload(Procedure.blocked_by)))
    }
    return file, check_courses_bookable(file, blocked_by)


def import_into(s: Session, data: Any) -> ImportReport:
    """Validate a catalogue file and write it inside the caller's transaction (the demo, the
    one-record editors of catalogue_admin and staffing); raises `InvalidData` having written
    nothing."""
    file, warnings = _read(s, data)
    report = ImportReport(counts={name: SectionCount() for name in file.sections})
    report.warnings = warnings
    # The one place every import writes (a whole file, an editor's one record, the demo), in
    # the caller's transaction: every worker reads the catalogue afresh once it commits.
    catalogue_changed()
    now = utcnow()
    # Only the courses and restrictions sections can change a course's rules: any other import
    # (a practitioner's time off, opening hours) skips the look-up of the courses booked, a
    # scan of every booked future session (most of a time-off dry run's cost at 100,000).
    before = _booked_course_rules(s, now) if file.courses or file.restrictions else {}
    write(s, file, report)
    _count_booked(s, before, now, report)
    return report


def _booked_course_rules(s: Session, now: datetime) -> dict[int, dict[str, Any]]:
    """The rules of the courses that have booked sessions to come, as enrolments keep them."""
    ids = s.scalars(
        select(Enrolment.course_id)
        .join(Appointment, Appointment.enrolment_id == Enrolment.id)
        .where(Appointment.to_come(now))
        .distinct()
    )
    query = select(Course).options(*course_options()).where(Course.id.in_(ids))  # type: ignore[arg-type]
    courses = s.scalars(query)
    return {c.id: rules_record(course_rules(c)) for c in courses}


def _count_booked(
    s: Session, before: dict[int, dict[str, Any]], now: datetime, report: ImportReport
) -> None:
    """For each course whose rules the import changed (its restrictions' words included):
    how many booked courses keep the rules they were booked under."""
    for course_id, was in before.items():
        course = s.get(Course, course_id)
        assert course is not None  # an import never deletes a course
        rules = course_rules(course)
        if rules_record(rules) == was:
            continue
        booked = booked_enrolments(course_id, now)
        report.booked[course.code] = sum(1 for e in booked if keeps_other_rules(e, rules))


def import_catalogue(data: dict[str, Any]) -> ImportReport:
    """Import a catalogue file (API.md): every error or nothing written, then one transaction."""
    with transaction() as s:  # the file's own transaction (the CLI, bench)
        return import_into(s, data)
