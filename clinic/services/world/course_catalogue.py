"""Courses and procedures of the catalogue: the rows, and their rules as the engine sees them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from clinic.models import (
    ConsentForm,
    Course,
    CourseRestriction,
    Procedure,
    consent_form_procedures,
)
from clinic.scheduling import (
    CareRule,
    ConsentNeed,
    ContraRule,
    CourseRules,
    PatchTestRule,
    ProcedureRules,
    interned,
)
from clinic.services.core.clinic_setup import from_catalogue
from clinic.services.core.db import db_session
from clinic.services.core.errors import NotFound


def procedure_rules(p: Procedure) -> ProcedureRules:
    return interned(
        ProcedureRules(
            code=p.code,
            name=p.name,
            duration=timedelta(minutes=p.duration_min),
            buffer=timedelta(minutes=p.buffer_min),
            qualification=p.qualification,
            device_kind=p.device_kind,
            blocked_by=frozenset(r.code for r in p.blocked_by),
            patch_test=PatchTestRule(
                p.patch_test_procedure, p.patch_test_min_hours, p.patch_test_max_days
            )
            if p.patch_test_procedure and p.patch_test_min_hours and p.patch_test_max_days
            else None,
            consents=consent_needs().get(p.code, ()),
        )
    )


def consent_needs() -> dict[str, tuple[ConsentNeed, ...]]:
    """The consent forms (not retired) each procedure needs signed, by procedure code: one
    statement, kept by the worker until the catalogue changes (issue 21)."""

    def load() -> dict[str, tuple[ConsentNeed, ...]]:
        rows = db_session().execute(
            select(Procedure.code, ConsentForm.code, ConsentForm.title)
            .join(consent_form_procedures, consent_form_procedures.c.procedure_id == Procedure.id)
            .join(ConsentForm, ConsentForm.id == consent_form_procedures.c.form_id)
            .where(ConsentForm.retired.is_(False))
            .order_by(Procedure.code, ConsentForm.code)
        )
        needs: dict[str, tuple[ConsentNeed, ...]] = {}
        for procedure, form, title in rows:
            needs[procedure] = (*needs.get(procedure, ()), ConsentNeed(form, title))
        return needs

    return from_catalogue("consent_needs", load)


def procedures_of_courses(course_ids: Iterable[int]) -> dict[int, ProcedureRules]:
    """The procedure of each course as it is now (`enrolment_rules` takes the live one), in
    two statements whatever the number of courses."""
    ids = sorted(set(course_ids))
    if not ids:
        return {}
    rows = db_session().execute(
        select(Course.id, Procedure)
        .join(Procedure, Procedure.id == Course.procedure_id)
        .options(selectinload(Procedure.blocked_by))
        .where(Course.id.in_(ids))
    )
    return {course_id: procedure_rules(p) for course_id, p in rows}


def course_rules(c: Course) -> CourseRules:
    return interned(
        CourseRules(
            code=c.code,
            name=c.name,
            procedure=procedure_rules(c.procedure),
            sessions=c.sessions,
            min_interval_days=c.min_interval_days,
            max_interval_days=c.max_interval_days,
            care=tuple(
                CareRule(
                    cr.restriction.code,
                    cr.restriction.text,
                    cr.restriction.kind,
                    cr.hours,
                    cr.phase,
                )
                for cr in c.care
            ),
            contraindications=tuple(
                ContraRule(ci.code, ci.lookback_days) for ci in c.contraindications
            ),
            months=frozenset(c.months),
            ideal_interval_days=c.ideal_interval_days,
            phototypes=frozenset(c.phototypes),
        )
    )


def course_options() -> list[object]:
    """Loader options that read a course with everything its rules need."""
    return [
        joinedload(Course.procedure).selectinload(Procedure.blocked_by),
        selectinload(Course.care).joinedload(CourseRestriction.restriction),
        selectinload(Course.contraindications),
    ]


def get_course(code: str, *, include_retired: bool = False) -> Course:
    query = select(Course).options(*course_options()).where(Course.code == code)  # type: ignore[arg-type]
    course: Course | None = db_session().scalar(query)
    # A retired procedure takes its courses out of the catalogue too.
    if course is None or ((course.retired or course.procedure.retired) and not include_retired):
        raise NotFound(f"There is no course {code!r}.", field="course")
    return course


def get_procedure(code: str) -> Procedure:
    procedure: Procedure | None = db_session().scalar(
        select(Procedure).options(selectinload(Procedure.blocked_by)).where(Procedure.code == code)
    )
    if procedure is None or procedure.retired:
        raise NotFound(f"There is no procedure {code!r}.", field="procedure")
    return procedure


def course(code: str) -> tuple[int, CourseRules]:
    """A course of the catalogue (not retired) as the engine sees it, with its id."""

    def load() -> tuple[int, CourseRules]:
        row = get_course(code)
        return row.id, course_rules(row)

    return from_catalogue(("course", code), load)


def patch_test_course(procedure_code: str) -> tuple[int, CourseRules] | None:
    """The course a patch test of the procedure `procedure_code` is booked as: its first
    one-session course (by code) not retired; None if the catalogue has none."""

    def load() -> tuple[int, CourseRules] | None:
        row = db_session().scalar(
            select(Course)
            .join(Procedure, Procedure.id == Course.procedure_id)
            .where(
                Procedure.code == procedure_code,
                Course.sessions == 1,
                Course.retired.is_(False),
            )
            .order_by(Course.code)
            .limit(1)
        )
        return (row.id, course_rules(row)) if row is not None else None

    return from_catalogue(("patch_test_course", procedure_code), load)


def procedure(code: str) -> ProcedureRules:
    """A procedure of the catalogue (not retired) as the engine sees it."""
    return from_catalogue(("procedure", code), lambda: procedure_rules(get_procedure(code)))


def price_text(value: Decimal) -> str:
    return f"{value:.2f}"
