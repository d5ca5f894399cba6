"""Read-only views of the catalogue, shared by pages, the API and the CLI."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.models import (
    Course,
    CourseRestriction,
    Practitioner,
    PractitionerQualification,
    Procedure,
)
from clinic.services.core.db import db_session


def list_courses(*, include_retired: bool = False) -> list[Course]:
    """Courses with their procedure, care rules and contraindications, loaded in a few queries."""
    query = (
        select(Course)
        .options(
            selectinload(Course.procedure).selectinload(Procedure.blocked_by),
            selectinload(Course.care).joinedload(CourseRestriction.restriction),
            selectinload(Course.contraindications),
        )
        .order_by(Course.name)
    )
    if not include_retired:
        query = query.where(Course.retired.is_(False))
    return list(db_session().scalars(query))


def list_practitioners(*, qualification: str | None = None) -> list[Practitioner]:
    """Active practitioners, those with `qualification` only if given."""
    query = (
        select(Practitioner)
        .options(selectinload(Practitioner.qualifications))
        .where(Practitioner.active.is_(True))
        .order_by(Practitioner.name)
    )
    if qualification is not None:
        query = query.where(
            Practitioner.qualifications.any(
                PractitionerQualification.qualification == qualification
            )
        )
    return list(db_session().scalars(query))
