"""Changes of the world: which booked sessions a change breaks, and their flags.

DOMAIN.md "A course over its lifetime": working hours, time off, holidays, opening hours, a
device or room out of service, a template applied to booked enrolments, new screening answers
or a newly declared period can break sessions booked before them. Nothing is moved or
cancelled silently: the service that makes such a change wraps it in `world_change`, which

- lets the change write as it always did, in one transaction;
- judges the booked future sessions the change can concern (its *scope*: a practitioner's
  days, a date, a device, a client...) exactly as they are booked, with the one judge of a
  booked session (`world.judge`);
- without `confirm`, if the change itself breaks any of them (a session flagged before for
  every rule it breaks is not the change's doing), rolls everything back and answers with
  those sessions (a preview: staff see what the change would break before they save it);
- otherwise keeps the change and brings the flags of the scope up to date: a broken session
  is flagged with its rule codes and sentences, a flagged one that holds again (the time off
  was removed) loses its flag.

Reception works the flags on the attention list (services/attention_list.py). A flag also goes
when its session is moved, cancelled or finished (`world.flags.forget`). The cost of a change grows with
the sessions in its scope, not with the appointments table: each scope is a condition the
appointments' indexes answer (practitioner and start, client and start, start).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby

from sqlalchemy import ColumnElement, delete, false, func, or_, select
from sqlalchemy.orm import selectinload

from clinic.models import Appointment, AttentionFlag, Enrolment, utcnow
from clinic.scheduling import Violation
from clinic.services.core import clinic_setup, date_range
from clinic.services.core.actors import Actor
from clinic.services.core.audit import shown_in_errors
from clinic.services.core.db import db_session, transaction
from clinic.services.world import client_reads, flags
from clinic.services.world import judge as judge_session
from clinic.services.world.snapshot import load_snapshot


@dataclass(frozen=True, slots=True)
class Broken:
    """A booked future session and the rules it breaks as booked."""

    appointment_id: int
    enrolment_id: int
    client_id: int
    session: int
    start: datetime
    violations: tuple[Violation, ...]
    client_name: str = ""
    course_name: str = ""
    practitioner_name: str = ""

    def errors(self) -> list[dict[str, str]]:
        return [{"code": v.code, "message": v.message} for v in self.violations]


@dataclass(slots=True)
class WorldChange:
    """What a change of the world did to booked sessions.

    `broken`: the sessions this change breaks itself: in its scope, broken now, and not
    already flagged for every rule they break (a session broken before by another change is
    not this one's doing, DOMAIN.md "Changes of the world"). `saved` False: a preview; nothing
    was written because `broken` is not empty and the change was not confirmed. `saved` True:
    the change is written, `broken` flagged, and the flags of the scope brought up to date
    (`still_broken`: every broken session of the scope, those flagged before included).
    """

    cause: str
    mends: bool = False
    saved: bool = False
    broken: tuple[Broken, ...] = ()
    still_broken: tuple[Broken, ...] = ()
    scope: list[ColumnElement[bool]] = field(default_factory=list)

    def concerns(self, condition: ColumnElement[bool]) -> None:
        """Add booked sessions (a condition on `Appointment`) this change may break or mend."""
        self.scope.append(condition)

    @property
    def needs_confirmation(self) -> bool:
        return not self.saved and bool(self.broken)


class _Preview(Exception):
    """Raised inside the transaction to roll a change back after judging it."""


@contextmanager
def world_change(
    *,
    actor: Actor | None,
    cause: str,
    confirm: bool,
    now: datetime | None = None,
    dry_run: bool = False,
    mends: bool = False,
) -> Iterator[WorldChange]:
    """Run a change of the world as one transaction, judged before it is kept (see the module).

    The body makes the change as usual (its own `transaction()` joins this one) and names its
    scope with `change.concerns(...)`. Afterwards `change.saved` and `change.broken` say what
    happened. A change that breaks nothing is saved without asking. `dry_run` judges the
    change and rolls it back whatever it breaks (`catalogue import --dry-run`). `mends`: the
    change undoes a cause (time off removed, a device back in use); a session it leaves broken
    is broken by something else, so its flag keeps the cause it had. `actor` is who asked
    (None: the command line), shown the preview.
    """
    now = now or utcnow()
    change = WorldChange(cause, mends=mends)
    try:
        with transaction() as s:
            yield change
            s.flush()
            change.still_broken = tuple(
                judge(or_(*change.scope) if change.scope else false(), now=now)
            )
            change.broken = _caused(change.still_broken)
            if dry_run or (change.broken and not confirm):
                # The preview shows `actor` each session's sentences, a condition's too.
                shown_in_errors(
                    actor,
                    [(b.client_id, [v.code for v in b.violations]) for b in change.broken],
                    cause,
                )
                raise _Preview
            _sync_flags(change, now)
            change.saved = True
    except _Preview:
        change.saved = False


def judge(scope: ColumnElement[bool], *, now: datetime) -> list[Broken]:
    """The booked future sessions matching `scope` that break a rule as they are booked now,
    in order of start, each judged by the one judge of a booked session (`world.judge`)."""
    appointments = list(
        db_session().scalars(
            select(Appointment)
            .options(
                selectinload(Appointment.enrolment).selectinload(Enrolment.course),
                selectinload(Appointment.client),
                selectinload(Appointment.practitioner),
            )
            .where(Appointment.to_come(now), scope)
            .order_by(Appointment.client_id, Appointment.start_at, Appointment.id)
        )
    )
    if not appointments:
        return []
    # A dry run only reads: the worker's days; judging a change to write it, this transaction's.
    snapshot = load_snapshot(remembered=True)
    groups = {c: list(g) for c, g in groupby(appointments, key=lambda a: a.client_id)}
    clients = client_reads.client_states(
        {c: {a.enrolment_id for a in group} for c, group in groups.items()}, now
    )
    broken: list[Broken] = []
    for client_id, group in groups.items():
        client = clients[client_id]
        for a in group:
            violations = judge_session.as_booked(a, snapshot=snapshot, client=client, now=now)
            if violations:
                broken.append(
                    Broken(
                        a.id,
                        a.enrolment_id,
                        client_id,
                        a.session,
                        a.start_at,
                        violations,
                        a.client.name,
                        a.enrolment.course.name,
                        a.practitioner.name,
                    )
                )
    return sorted(broken, key=lambda b: (b.start, b.appointment_id))


def _caused(broken: Sequence[Broken]) -> tuple[Broken, ...]:
    """The broken sessions a change breaks itself: those not flagged before, and those that
    now break a rule their flag did not name (one look-up of their flags by key)."""
    if not broken:
        return ()
    before = {
        f.appointment_id: f.errors
        for f in db_session().scalars(
            select(AttentionFlag).where(
                AttentionFlag.appointment_id.in_([b.appointment_id for b in broken])
            )
        )
    }
    return tuple(
        b
        for b in broken
        if b.appointment_id not in before or not _part_of(b.errors(), before[b.appointment_id])
    )


def _sync_flags(change: WorldChange, now: datetime) -> None:
    """Flag the broken sessions of the scope and unflag the ones that hold again."""
    s = db_session()
    broken = {b.appointment_id: b for b in change.still_broken}
    if change.scope:
        in_scope = select(Appointment.id).where(Appointment.to_come(now), or_(*change.scope))
        mended = delete(AttentionFlag).where(AttentionFlag.appointment_id.in_(in_scope))
        if broken:
            mended = mended.where(AttentionFlag.appointment_id.not_in(list(broken)))
        # A flag that also asks for a review (a severe reaction) keeps that entry alone.
        reviewed = select(AttentionFlag).where(AttentionFlag.appointment_id.in_(in_scope))
        for held in s.scalars(reviewed.where(AttentionFlag.appointment_id.not_in(list(broken)))):
            if review := flags.kept_until_reviewed(held.errors):
                held.errors = review
                mended = mended.where(AttentionFlag.appointment_id != held.appointment_id)
        s.execute(mended)
    for appointment_id, b in broken.items():
        flag = s.get(AttentionFlag, appointment_id)
        if flag is not None and (review := flags.kept_until_reviewed(flag.errors)):
            # A severe reaction's review stays, beside the rules the session now breaks.
            if flag.errors != [*review, *b.errors()]:
                flag.errors = [*review, *b.errors()]
            continue
        if flag is None:
            s.add(
                AttentionFlag(
                    appointment_id=appointment_id,
                    errors=b.errors(),
                    cause=change.cause,
                    flagged_at=now,
                )
            )
        elif flag.errors != b.errors():
            # A change that broke it further is the cause of the flag now; one that mended part
            # of it (a holiday removed while the practitioner's time off remains) is not.
            if not change.mends and not _part_of(b.errors(), flag.errors):
                flag.cause = change.cause
            flag.errors = b.errors()


def _part_of(errors: list[dict[str, str]], before: list[dict[str, str]]) -> bool:
    seen = {(e["code"], e["message"]) for e in before}
    return all((e["code"], e["message"]) in seen for e in errors)


# --- scopes: which booked sessions a change can concern -------------------------------------


def _local_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants of the start of `first` and the end of `last`, clinic time."""
    tz = clinic_setup.clinic_tz()
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz)
    return start, end


def on_days(first: date, last: date) -> ColumnElement[bool]:
    """Sessions starting on the clinic's local days `first`..`last` (both included)."""
    start, end = _local_bounds(first, last)
    return (Appointment.start_at >= start) & (Appointment.start_at < end)


def practitioner_days(practitioner_id: int, first: date, last: date) -> ColumnElement[bool]:
    return (Appointment.practitioner_id == practitioner_id) & on_days(first, last)


def of_practitioner(practitioner_id: int) -> ColumnElement[bool]:
    return Appointment.practitioner_id == practitioner_id


def of_device(device_id: int) -> ColumnElement[bool]:
    return Appointment.device_id == device_id


def of_room(room_id: int) -> ColumnElement[bool]:
    return Appointment.room_id == room_id


def of_client(client_id: int) -> ColumnElement[bool]:
    return Appointment.client_id == client_id


def of_enrolment(enrolment_id: int) -> ColumnElement[bool]:
    return Appointment.enrolment_id == enrolment_id


# Beyond this many day ranges a weekday scope becomes one range of dates: a long OR nests too
# deep for SQLite (at most 1000 levels in one expression).
_MAX_DAY_RANGES = 200


def on_weekdays(weekdays: Iterable[int], *, now: datetime) -> ColumnElement[bool]:
    """Booked future sessions on the clinic's local `weekdays` (Monday 0), as day ranges the
    start index answers: one range per matching day up to the last booked session."""
    wanted = set(weekdays)
    if not wanted:
        return false()
    last = db_session().scalar(
        select(func.max(Appointment.start_at)).where(Appointment.to_come(now))
    )
    if last is None:
        return false()
    tz = clinic_setup.clinic_tz()
    day, end = date_range.clinic_today(now), _aware(last).astimezone(tz).date()
    if len(wanted) == 7 or (end - day).days * len(wanted) > 7 * _MAX_DAY_RANGES:
        return on_days(day, end)  # every day: more to judge, but a short statement
    days: list[ColumnElement[bool]] = []
    while day <= end:
        if day.weekday() in wanted:
            days.append(on_days(day, day))
        day += timedelta(days=1)
    return or_(*days) if days else false()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes from an aggregate."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def every_session() -> ColumnElement[bool]:
    """Opening hours and clinic-wide settings can concern any booked session."""
    return Appointment.id.is_not(None)


def describe(broken: Sequence[Broken]) -> str:
    """'2 booked sessions' / '1 booked session', for a sentence."""
    n = len(broken)
    return f"{n} booked session{'s' if n != 1 else ''}"
