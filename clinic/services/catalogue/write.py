"""Writing a validated catalogue file to the database (API.md), in the caller's transaction.

Decisions the contract leaves to us:

- Records are matched by `code` (practitioners by `email`, case-insensitively). Records the
  file does not mention are left as they are; a record the file does mention becomes live
  again (`retired = False` / `active = True`), because the file says it exists.
- For the records it mentions, the file's lists replace the stored ones: opening hours and
  holidays (when `clinic` is present), a procedure's `blocked_by`, a course's aftercare,
  pre-care and contraindications, a practitioner's qualifications, hours and time off.
  Rows that are already right are kept (with their ids and notes), so re-importing the
  same file changes nothing.
- A top-level section that is absent leaves that part of the database untouched.
- A consent form's text is never changed in place: a text that differs from the current
  version's becomes a new version (number, text, SHA-256, when); the same text makes none, so
  re-importing a file leaves the versions as they are (issue 21).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session, selectinload

from clinic.models import (
    ClinicSettings,
    ConsentForm,
    ConsentFormVersion,
    Course,
    CourseContraindication,
    CourseRestriction,
    Device,
    Holiday,
    OpeningHours,
    Practitioner,
    PractitionerQualification,
    Procedure,
    Restriction,
    Room,
    TimeOff,
    User,
    WorkingHours,
    utcnow,
)
from clinic.services.catalogue.fields import intervals
from clinic.services.catalogue.report import ImportReport
from clinic.services.catalogue.schema import (
    CatalogueFile,
    ClinicEntry,
    ConsentFormEntry,
    CourseEntry,
    PractitionerEntry,
    ProcedureEntry,
)
from clinic.services.core import permissions


def _assign(obj: Any, **values: Any) -> bool:
    """Set only the attributes that differ, so unchanged rows stay clean; True if any did."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


# Codes per `IN (...)` list: well within every database's limit on bound parameters.
CHUNK = 500


def _rows_by(
    s: Session, model: Any, column: Any, keys: Iterable[str], *options: Any, where: Any = None
) -> dict[str, Any]:
    """The rows whose `column` (a code, a lower-cased email) is one of `keys`, by that value,
    with `options` (their collections) loaded; only those matching `where` if given. A query
    per CHUNK keys, never one per record, so an import's time follows the file's size."""
    wanted = sorted(set(keys))
    found: dict[str, Any] = {}
    for i in range(0, len(wanted), CHUNK):
        query = select(column, model).options(*options).where(column.in_(wanted[i : i + CHUNK]))
        if where is not None:
            query = query.where(where)
        found.update((key, row) for key, row in s.execute(query))
    return found


def _upsert(
    s: Session,
    rows: dict[str, Any],
    model: Any,
    key: str,
    value: str,
    report: ImportReport,
    section: str,
    **values: Any,
) -> Any:
    """The record `value` from `rows` (what `_rows_by` found), updated, or a new one added
    to them."""
    row = rows.get(value)
    if row is None:
        row = rows[value] = model(**{key: value}, **values)
        s.add(row)
        report.count(section, "created")
        return row
    report.count(section, "updated" if _assign(row, **values) else "unchanged")
    return row


def _restriction_codes(file: CatalogueFile) -> set[str]:
    """Every restriction the file declares or refers to."""
    codes = {r.code for r in file.restrictions}
    codes.update(code for p in file.procedures for code in p.blocked_by)
    codes.update(a.restriction for c in file.courses for a in (*c.aftercare, *c.precare))
    return codes


def write(s: Session, file: CatalogueFile, report: ImportReport) -> None:
    """Write every section the file holds; the file was read and checked whole."""
    if file.clinic is not None:
        _write_clinic(s, file.clinic, report)
    restrictions = _rows_by(s, Restriction, Restriction.code, _restriction_codes(file))
    for r in file.restrictions:
        _upsert(
            s,
            restrictions,
            Restriction,
            "code",
            r.code,
            report,
            "restrictions",
            text=r.text,
            kind=r.kind,
            retired=False,
        )
    rooms = _rows_by(s, Room, Room.code, (room.code for room in file.rooms))
    for room in file.rooms:
        _upsert(s, rooms, Room, "code", room.code, report, "rooms", name=room.name, active=True)
    devices = _rows_by(s, Device, Device.code, (d.code for d in file.devices))
    for d in file.devices:
        _upsert(
            s,
            devices,
            Device,
            "code",
            d.code,
            report,
            "devices",
            kind=d.kind,
            name=d.name,
            active=True,
        )
    procedures = _rows_by(
        s,
        Procedure,
        Procedure.code,
        {p.code for p in file.procedures} | {c.procedure for c in file.courses},
        selectinload(Procedure.blocked_by),
    )
    for p in file.procedures:
        procedures[p.code] = _write_procedure(s, p, procedures.get(p.code), restrictions, report)
    s.flush()  # the new procedures' ids, for their courses
    courses = _rows_by(
        s,
        Course,
        Course.code,
        (c.code for c in file.courses),
        selectinload(Course.care).selectinload(CourseRestriction.restriction),
        selectinload(Course.contraindications),
    )
    _insert_courses(s, [c for c in file.courses if c.code not in courses], procedures, restrictions)
    for c in file.courses:
        if c.code in courses:
            _write_course(s, c, courses[c.code], procedures, restrictions, report)
        else:
            report.count("courses", "created")
    emails = [p.email for p in file.practitioners]
    practitioners = _rows_by(
        s,
        Practitioner,
        func.lower(Practitioner.email),
        emails,
        selectinload(Practitioner.qualifications),
        selectinload(Practitioner.hours),
        selectinload(Practitioner.time_off),
    )
    # The account may exist before the practitioner (accounts.create_user links the other
    # way round).
    accounts = _rows_by(
        s,
        User,
        func.lower(User.email),
        (e for e in emails if practitioners.get(e) is None or practitioners[e].user_id is None),
        where=permissions.practitioner_accounts(),
    )
    for pr in file.practitioners:
        _write_practitioner(s, pr, practitioners.get(pr.email), accounts, report)
    if file.consent_forms:
        _write_consent_forms(s, file.consent_forms, report)
    s.flush()


def _write_clinic(s: Session, c: ClinicEntry, report: ImportReport) -> None:
    settings = s.scalar(select(ClinicSettings).order_by(ClinicSettings.id).limit(1))
    values = {
        "name": c.name,
        "address": c.address,
        "timezone": c.timezone,
        "slot_minutes": c.slot_minutes,
        "client_change_notice_hours": c.policy.client_change_notice_hours,
        "horizon_days": c.policy.horizon_days,
        "no_show_uses_session": c.policy.no_show_uses_session,
        "photos_shown_to_clients": c.policy.photos_shown_to_clients,
    }
    if settings is None:
        s.add(ClinicSettings(**values))
        outcome = "created"
    else:
        if settings.timezone != c.timezone:
            report.warnings.append(
                {
                    "code": "timezone_changed",
                    "field": "clinic.timezone",
                    "message": f"The time zone changes from {settings.timezone} to "
                    f"{c.timezone}; booked times keep their instant, not their wall-clock time.",
                }
            )
        outcome = "updated" if _assign(settings, **values) else "unchanged"

    changed = False
    wanted = set(intervals(c.opening_hours))
    for row in s.scalars(select(OpeningHours)):
        key = (row.weekday, row.opens, row.closes)
        if key in wanted:
            wanted.discard(key)
        else:
            s.delete(row)
            changed = True
    for weekday, opens, closes in sorted(wanted):
        s.add(OpeningHours(weekday=weekday, opens=opens, closes=closes))
        changed = True
    days = set(c.holidays)
    for holiday in s.scalars(select(Holiday)):
        if holiday.day in days:
            days.discard(holiday.day)
        else:
            s.delete(holiday)
            changed = True
    for day in sorted(days):
        s.add(Holiday(day=day, name=""))
        changed = True
    if outcome == "unchanged" and changed:
        outcome = "updated"
    report.count("clinic", outcome)


def _write_procedure(
    s: Session,
    p: ProcedureEntry,
    row: Procedure | None,
    restrictions: dict[str, Restriction],
    report: ImportReport,
) -> Procedure:
    values = {
        "name": p.name,
        "duration_min": p.duration_min,
        "buffer_min": p.buffer_min,
        "qualification": p.qualification,
        "device_kind": p.device_kind,
        "price": p.price,
        "record_template": p.record_fields,
        "retired": False,
        "patch_test_procedure": p.patch_test.procedure if p.patch_test else None,
        "patch_test_min_hours": p.patch_test.min_hours_before if p.patch_test else None,
        "patch_test_max_days": p.patch_test.max_days_before if p.patch_test else None,
    }
    if row is None:
        row = Procedure(code=p.code, description="", **values)
        row.blocked_by = [restrictions[code] for code in sorted(p.blocked_by)]
        s.add(row)
        report.count("procedures", "created")
        return row
    changed = _assign(row, **values)
    if {r.code for r in row.blocked_by} != set(p.blocked_by):
        row.blocked_by = [restrictions[code] for code in sorted(p.blocked_by)]
        changed = True
    report.count("procedures", "updated" if changed else "unchanged")
    return row


def _course_values(c: CourseEntry, procedures: dict[str, Procedure]) -> dict[str, Any]:
    return {
        "name": c.name,
        "procedure_id": procedures[c.procedure].id,
        "sessions": c.sessions,
        "min_interval_days": c.min_interval_days,
        "max_interval_days": c.max_interval_days,
        "ideal_interval_days": c.ideal_interval_days,
        "months_mask": c.months_mask,
        "phototypes_mask": c.phototypes_mask,
        "retired": False,
    }


def _table(model: Any) -> Table:
    """A model's table, for Core's executemany INSERT: the ORM's bulk INSERT asks for each
    new row's id, a statement per row on SQLite."""
    return cast(Table, model.__table__)


def _insert_courses(
    s: Session,
    entries: list[CourseEntry],
    procedures: dict[str, Procedure],
    restrictions: dict[str, Restriction],
) -> None:
    """New courses with their care rules and contraindications, in three bulk INSERTs: a
    file of thousands of new courses spends its time in the database, not in building an
    ORM object per row. Their procedures and restrictions have their ids (flushed)."""
    if not entries:
        return
    s.execute(
        insert(_table(Course)),
        [{"code": c.code, **_course_values(c, procedures)} for c in entries],
    )
    # The new ids by code, a query per CHUNK.
    codes = [c.code for c in entries]
    by_code: dict[str, int] = {}
    for i in range(0, len(codes), CHUNK):
        query = select(Course.code, Course.id).where(Course.code.in_(codes[i : i + CHUNK]))
        by_code.update((code, course_id) for code, course_id in s.execute(query))
    ids = [by_code[c.code] for c in entries]
    care = [
        {
            "course_id": course_id,
            "restriction_id": restrictions[a.restriction].id,
            "phase": phase,
            "hours": a.hours,
        }
        for course_id, c in zip(ids, entries, strict=True)
        for phase, rules in (("after", c.aftercare), ("before", c.precare))
        for a in rules
    ]
    if care:
        s.execute(insert(_table(CourseRestriction)), care)
    contraindications = [
        {"course_id": course_id, "code": k.code, "lookback_days": k.lookback_days}
        for course_id, c in zip(ids, entries, strict=True)
        for k in sorted(c.contraindications, key=lambda k: k.code)
    ]
    if contraindications:
        s.execute(insert(_table(CourseContraindication)), contraindications)


def _write_course(
    s: Session,
    c: CourseEntry,
    row: Course,
    procedures: dict[str, Procedure],
    restrictions: dict[str, Restriction],
    report: ImportReport,
) -> None:
    changed = _assign(row, **_course_values(c, procedures))

    # In the file's order: aftercare, then pre-care.
    hours = {("after", a.restriction): a.hours for a in c.aftercare} | {
        ("before", a.restriction): a.hours for a in c.precare
    }
    kept: set[tuple[str, str]] = set()
    for care in list(row.care):
        key = (care.phase, care.restriction.code)
        if key not in hours:
            row.care.remove(care)
            changed = True
            continue
        kept.add(key)
        changed |= _assign(care, hours=hours[key])
    for phase, code in hours:
        if (phase, code) not in kept:
            row.care.append(
                CourseRestriction(
                    phase=phase, restriction=restrictions[code], hours=hours[(phase, code)]
                )
            )
            changed = True

    lookbacks = {k.code: k.lookback_days for k in c.contraindications}
    for contra in list(row.contraindications):
        if contra.code not in lookbacks:
            row.contraindications.remove(contra)
            changed = True
        else:
            changed |= _assign(contra, lookback_days=lookbacks.pop(contra.code))
    for code, days in sorted(lookbacks.items()):
        row.contraindications.append(CourseContraindication(code=code, lookback_days=days))
        changed = True
    report.count("courses", "updated" if changed else "unchanged")


def _write_practitioner(
    s: Session,
    p: PractitionerEntry,
    row: Practitioner | None,
    accounts: dict[str, User],
    report: ImportReport,
) -> None:
    created = row is None
    if row is None:
        row = Practitioner(email=p.email, name=p.name, active=True)
        s.add(row)
        changed = True
    else:
        changed = _assign(row, email=p.email, name=p.name, active=True)
    if row.user_id is None:
        user = accounts.get(p.email)
        if user is not None:
            row.user = user
            changed = True

    wanted_q = set(p.qualifications)
    for q in list(row.qualifications):
        if q.qualification in wanted_q:
            wanted_q.discard(q.qualification)
        else:
            row.qualifications.remove(q)
            changed = True
    for code in sorted(wanted_q):
        row.qualifications.append(PractitionerQualification(qualification=code))
        changed = True

    wanted_h = set(intervals(p.hours))
    for h in list(row.hours):
        key = (h.weekday, h.starts, h.ends)
        if key in wanted_h:
            wanted_h.discard(key)
        else:
            row.hours.remove(h)
            changed = True
    for weekday, starts, ends in sorted(wanted_h):
        row.hours.append(WorkingHours(weekday=weekday, starts=starts, ends=ends))
        changed = True

    wanted_t = set(p.time_off)
    for t in list(row.time_off):
        key_t = (t.start_on, t.end_on)
        if key_t in wanted_t:
            wanted_t.discard(key_t)
        else:
            row.time_off.remove(t)
            changed = True
    for start, end in sorted(wanted_t):
        row.time_off.append(TimeOff(start_on=start, end_on=end, note=""))
        changed = True
    report.count("practitioners", "created" if created else "updated" if changed else "unchanged")


def text_sha256(text: str) -> str:
    """The SHA-256 of a consent form's text (UTF-8), as kept with its version and signatures."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_consent_forms(s: Session, entries: list[ConsentFormEntry], report: ImportReport) -> None:
    s.flush()  # the procedures of this file, with their ids
    procedures = _rows_by(s, Procedure, Procedure.code, {c for f in entries for c in f.procedures})
    forms = _rows_by(
        s,
        ConsentForm,
        ConsentForm.code,
        (f.code for f in entries),
        selectinload(ConsentForm.procedures),
        selectinload(ConsentForm.versions),
    )
    now = utcnow()
    for f in entries:
        row = forms.get(f.code)
        created = row is None
        if row is None:
            row = forms[f.code] = ConsentForm(code=f.code, title=f.title, valid_days=f.valid_days)
            s.add(row)
            changed = True
        else:
            changed = _assign(row, title=f.title, valid_days=f.valid_days, retired=False)
        if {p.code for p in row.procedures} != set(f.procedures):
            row.procedures = [procedures[code] for code in sorted(f.procedures)]
            changed = True
        current = row.current
        if current is None or current.text != f.text:
            row.versions.append(
                ConsentFormVersion(
                    number=(current.number + 1) if current is not None else 1,
                    text=f.text,
                    sha256=text_sha256(f.text),
                    created_at=now,
                )
            )
            changed = True
        report.count(
            "consent_forms", "created" if created else "updated" if changed else "unchanged"
        )
