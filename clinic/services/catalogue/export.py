"""The catalogue file written from the database: the clinic's live set-up (records not retired,
sorted by code) in exactly the shape import reads, so an export re-imports to the same state."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.models import (
    ALL_MONTHS_MASK,
    ALL_PHOTOTYPES_MASK,
    ClinicSettings,
    ConsentForm,
    Course,
    CourseRestriction,
    Device,
    Holiday,
    OpeningHours,
    Practitioner,
    Procedure,
    Restriction,
    Room,
    mask_to_months,
)
from clinic.services.catalogue.fields import WEEKDAYS
from clinic.services.core.db import db_session


def _week_json(rows: list[tuple[int, time, time]]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for weekday, start, end in sorted(rows):
        out.setdefault(WEEKDAYS[weekday], []).append(
            [start.strftime("%H:%M"), end.strftime("%H:%M")]
        )
    return out


def patch_test_entry(p: Procedure) -> dict[str, Any] | None:
    """A procedure's patch test as the catalogue file spells it (None: it needs none)."""
    if p.patch_test_procedure is None:
        return None
    return {
        "procedure": p.patch_test_procedure,
        "min_hours_before": p.patch_test_min_hours,
        "max_days_before": p.patch_test_max_days,
    }


def course_entry(c: Course) -> dict[str, Any]:
    """A course as the catalogue file (and the API) spell it, without `months` and
    `phototypes` (the file leaves them out when they say "all")."""
    return {
        "code": c.code,
        "name": c.name,
        "procedure": c.procedure.code,
        "sessions": c.sessions,
        "min_interval_days": c.min_interval_days,
        "max_interval_days": c.max_interval_days,
        "ideal_interval_days": c.ideal_interval_days,
        "aftercare": [{"restriction": a.restriction.code, "hours": a.hours} for a in c.aftercare],
        "precare": [{"restriction": a.restriction.code, "hours": a.hours} for a in c.precare],
        "contraindications": [
            {"code": k.code, "lookback_days": k.lookback_days} for k in c.contraindications
        ],
    }


def export_catalogue() -> dict[str, Any]:
    """The clinic's live set-up as a catalogue file that re-imports to the same state."""
    s = db_session()
    out: dict[str, Any] = {}
    settings = s.scalar(select(ClinicSettings).order_by(ClinicSettings.id).limit(1))
    if settings is not None:
        out["clinic"] = {
            "name": settings.name,
            "address": settings.address,
            "timezone": settings.timezone,
            "slot_minutes": settings.slot_minutes,
            "opening_hours": _week_json(
                [(h.weekday, h.opens, h.closes) for h in s.scalars(select(OpeningHours))]
            ),
            "holidays": [
                h.day.isoformat() for h in s.scalars(select(Holiday).order_by(Holiday.day))
            ],
            "policy": {
                "client_change_notice_hours": settings.client_change_notice_hours,
                "horizon_days": settings.horizon_days,
                "no_show_uses_session": settings.no_show_uses_session,
                "photos_shown_to_clients": settings.photos_shown_to_clients,
            },
        }
    out["restrictions"] = [
        {"code": r.code, "text": r.text, "kind": r.kind}
        for r in s.scalars(
            select(Restriction).where(Restriction.retired.is_(False)).order_by(Restriction.code)
        )
    ]
    out["rooms"] = [
        {"code": r.code, "name": r.name}
        for r in s.scalars(select(Room).where(Room.active.is_(True)).order_by(Room.code))
    ]
    out["devices"] = [
        {"code": d.code, "kind": d.kind, "name": d.name}
        for d in s.scalars(select(Device).where(Device.active.is_(True)).order_by(Device.code))
    ]
    out["procedures"] = [
        {
            "code": p.code,
            "name": p.name,
            "duration_min": p.duration_min,
            "buffer_min": p.buffer_min,
            "qualification": p.qualification,
            "device_kind": p.device_kind,
            "blocked_by": [r.code for r in p.blocked_by],
            "price": f"{Decimal(p.price).quantize(Decimal('0.01'))}",
            **({"record_fields": p.record_template} if p.record_template is not None else {}),
        }
        | ({"patch_test": test} if (test := patch_test_entry(p)) else {})
        for p in s.scalars(
            select(Procedure)
            .where(Procedure.retired.is_(False))
            .options(selectinload(Procedure.blocked_by))
            .order_by(Procedure.code)
        )
    ]
    courses = []
    for c in s.scalars(
        select(Course)
        .where(Course.retired.is_(False))
        .options(
            selectinload(Course.procedure),
            selectinload(Course.care).joinedload(CourseRestriction.restriction),
            selectinload(Course.contraindications),
        )
        .order_by(Course.code)
    ):
        course = course_entry(c)
        if c.months_mask != ALL_MONTHS_MASK:
            course["months"] = mask_to_months(c.months_mask)
        if c.phototypes_mask != ALL_PHOTOTYPES_MASK:
            course["phototypes"] = c.phototypes
        courses.append(course)
    out["courses"] = courses
    out["practitioners"] = [
        {
            "email": p.email,
            "name": p.name,
            "qualifications": p.qualification_codes,
            "hours": _week_json([(h.weekday, h.starts, h.ends) for h in p.hours]),
            "time_off": [[t.start_on.isoformat(), t.end_on.isoformat()] for t in p.time_off],
        }
        for p in s.scalars(
            select(Practitioner)
            .where(Practitioner.active.is_(True))
            .options(
                selectinload(Practitioner.qualifications),
                selectinload(Practitioner.hours),
                selectinload(Practitioner.time_off),
            )
            .order_by(Practitioner.email)
        )
    ]
    out["consent_forms"] = [
        consent_form_entry(f)
        for f in s.scalars(
            select(ConsentForm)
            .where(ConsentForm.retired.is_(False))
            .options(selectinload(ConsentForm.procedures), selectinload(ConsentForm.versions))
            .order_by(ConsentForm.code)
        )
    ]
    return out


def consent_form_entry(f: ConsentForm) -> dict[str, Any]:
    """A consent form as the catalogue file spells it: its current text."""
    current = f.current
    return {
        "code": f.code,
        "title": f.title,
        "text": current.text if current is not None else "",
        "valid_days": f.valid_days,
        "procedures": [p.code for p in f.procedures],
    }
