"""The attention list: booked sessions a change of the world has broken, and their re-plans.

DOMAIN.md "Changes of the world": once a change of working hours, time off, holidays,
devices, templates or a client's own state is saved, every future session it breaks carries a
flag (`AttentionFlag`, written and cleared by services/attention.py). Reception works this list:
each flagged session with the rules it now breaks and a re-plan of its enrolment that moves as
few sessions as possible (`scheduling.replan.minimal_replan`); accepting the re-plan moves all
its sessions at once or none, and tells the client the new dates.

Reading costs what the flags cost: the list starts from `attention_flags` (a few rows) and
reaches appointments by their primary key, never by scanning the appointments table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import selectinload

from clinic.models import Appointment, AttentionFlag, Course, Enrolment, utcnow
from clinic.scheduling import (
    ClientState,
    CourseRules,
    ProposedSession,
    Slot,
    Violation,
    check_course,
)
from clinic.scheduling.replan import minimal_replan
from clinic.services import client_reads, outbox
from clinic.services.actors import Actor
from clinic.services.aftercare import course_rules_as_booked
from clinic.services.audit import record
from clinic.services.booking import _place, _refuse
from clinic.services.db import db_session, lock_client, transaction
from clinic.services.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from clinic.services.permissions import is_desk, is_practitioner, is_staff
from clinic.services.snapshot import load_snapshot


@dataclass(frozen=True, slots=True)
class FlagError:
    """A rule the session breaks since the change: its code and the sentence to read."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Move:
    """One session of a re-plan: where it is booked now and where the re-plan puts it."""

    appointment_id: int
    session: int
    start: datetime  # booked now
    practitioner: str
    slot: Slot  # proposed
    new_practitioner: str


@dataclass(frozen=True, slots=True)
class EnrolmentReplan:
    """The re-plan of one enrolment: the moves, the enrolment's other future sessions, which
    stay, and, when no re-plan keeps every rule, why (then `moves` is empty)."""

    enrolment_id: int
    moves: tuple[Move, ...]
    stays: tuple[int, ...]  # session numbers
    problems: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.moves) and not self.problems


@dataclass(frozen=True, slots=True)
class Attention:
    """A flagged session on the attention list; `appointment` has its enrolment, course,
    client and practitioner loaded."""

    appointment: Appointment
    errors: tuple[FlagError, ...]
    cause: str
    flagged_at: datetime
    replan: EnrolmentReplan


@dataclass(frozen=True, slots=True)
class ReplanRequest:
    """A move asked for when accepting a re-plan; practitioner None means any qualified one."""

    appointment_id: int
    start: datetime
    practitioner_id: int | None = None


def _rules(enrolment: Enrolment) -> CourseRules:
    """The rules the enrolment is judged by (the one place to ask, for this module)."""
    return course_rules_as_booked(enrolment.course.code)


def _require_staff(actor: Actor) -> None:
    if not is_staff(actor):
        raise PermissionDenied("The attention list is for the clinic's staff.")


def _live_flags(actor: Actor, now: datetime) -> Select[AttentionFlag, Appointment]:
    """Flags of sessions still booked and to come (older flags are history, not work); a
    practitioner sees their own sessions only, as on the calendar."""
    query = (
        select(AttentionFlag, Appointment)
        .join(Appointment, Appointment.id == AttentionFlag.appointment_id)
        .where(Appointment.status == "booked", Appointment.start_at > now)
    )
    if is_practitioner(actor):
        query = query.where(Appointment.practitioner_id == actor.practitioner_id)
    return query


def count_attention(*, actor: Actor, now: datetime | None = None) -> int:
    """How many flagged sessions are waiting (the staff navigation's count): one COUNT."""
    _require_staff(actor)
    now = now or utcnow()
    query = _live_flags(actor, now).with_only_columns(func.count()).select_from(AttentionFlag)
    return db_session().scalar(query) or 0


def attention_list(
    *, actor: Actor, client_id: int | None = None, now: datetime | None = None
) -> list[Attention]:
    """Every flagged future session (of one client, if given), soonest first, each with the
    rules it breaks and a re-plan of its enrolment that moves as few sessions as possible
    (all of the enrolment's flagged sessions count as broken); writes nothing."""
    _require_staff(actor)
    now = now or utcnow()
    enrolment = selectinload(Appointment.enrolment)
    query = _live_flags(actor, now).options(
        enrolment.selectinload(Enrolment.course).selectinload(Course.procedure),
        enrolment.selectinload(Enrolment.appointments),
        selectinload(Appointment.client),
        selectinload(Appointment.practitioner),
    )
    if client_id is not None:
        query = query.where(Appointment.client_id == client_id)
    rows = list(db_session().execute(query.order_by(Appointment.start_at, Appointment.id)))
    if not rows:
        return []
    broken: dict[int, set[int]] = {}
    for _, a in rows:
        broken.setdefault(a.enrolment_id, set()).add(a.id)
    snapshot = load_snapshot()
    names = {p.id: p.name for p in snapshot.practitioners}
    states: dict[int, ClientState] = {}
    replans: dict[int, EnrolmentReplan] = {}
    for _, a in rows:
        if a.enrolment_id in replans:
            continue
        if a.client_id not in states:
            states[a.client_id] = client_reads.client_state(a.client_id, now)
        result = minimal_replan(
            snapshot=snapshot,
            course=_rules(a.enrolment),
            client=states[a.client_id],
            enrolment_id=a.enrolment_id,
            broken=frozenset(broken[a.enrolment_id]),
            now=now,
            by_staff=True,
        )
        replans[a.enrolment_id] = _replan(
            a.enrolment, result.moves if result.ok else (), tuple(result.violations), now, names
        )
    return [
        Attention(
            appointment=a,
            errors=tuple(FlagError(str(e["code"]), str(e["message"])) for e in flag.errors),
            cause=flag.cause,
            flagged_at=flag.flagged_at,
            replan=replans[a.enrolment_id],
        )
        for flag, a in rows
    ]


def _replan(
    enrolment: Enrolment,
    moves: Sequence[tuple[int, Slot]],
    problems: tuple[Violation, ...],
    now: datetime,
    names: dict[int, str],
) -> EnrolmentReplan:
    booked = {a.id: a for a in enrolment.appointments if a.status == "booked" and a.start_at > now}
    out = tuple(
        Move(
            appointment_id=i,
            session=booked[i].session,
            start=booked[i].start_at,
            practitioner=names.get(booked[i].practitioner_id, ""),
            slot=slot,
            new_practitioner=names.get(slot.practitioner_id, ""),
        )
        for i, slot in sorted(moves, key=lambda m: m[1].start)
        if i in booked
    )
    moved = {m.appointment_id for m in out}
    stays = tuple(sorted(a.session for i, a in booked.items() if i not in moved))
    return EnrolmentReplan(enrolment.id, out, stays, problems)


def accept_replan(
    *,
    actor: Actor,
    enrolment_id: int,
    moves: Sequence[ReplanRequest],
    now: datetime | None = None,
) -> list[Appointment]:
    """Move sessions of one enrolment together, as a re-plan from the attention list: all the
    moves are judged together (each against the others and the enrolment's other sessions)
    and written all or none. The flags of the enrolment's sessions that now hold go, the
    client is told the new dates, and the change is audited. Returns the moved sessions."""
    now = now or utcnow()
    if not is_desk(actor):
        raise PermissionDenied("Reception accepts re-plans.")
    if not moves:
        raise InvalidRequest("Give at least one session to move.", field="sessions")
    ids = [m.appointment_id for m in moves]
    if len(set(ids)) != len(ids):
        raise InvalidRequest("Each session may be moved only once.", field="sessions")
    with transaction() as s:
        enrolment = s.get(Enrolment, enrolment_id)
        if enrolment is None:
            raise NotFound("There is no such course booking.")
        lock_client(enrolment.client_id)
        mine = {a.id: a for a in enrolment.appointments}
        moving = []
        for m in moves:
            a = mine.get(m.appointment_id)
            if a is None:
                raise InvalidRequest(
                    f"Appointment {m.appointment_id} is not a session of this course booking.",
                    field="sessions",
                )
            if a.status != "booked" or a.start_at <= now:
                raise Conflict(
                    f"Session {a.session} is no longer a booked session to come; "
                    "nothing was changed.",
                    code="appointment_changed",
                )
            moving.append(a)
        course = _rules(enrolment)
        result = check_course(
            snapshot=load_snapshot(),
            course=course,
            client=client_reads.client_state(enrolment.client_id, now),
            proposals=[
                ProposedSession(a.session, m.start, m.practitioner_id)
                for a, m in zip(moving, moves, strict=True)
            ],
            now=now,
            enrolment_id=enrolment.id,
            replacing=frozenset(ids),
            by_staff=True,
            override_soft=any(a.override_reason for a in moving),
            # Sessions already booked: their pre-care is the client's since they booked it.
            precare_confirmed=True,
        )
        if not result.ok:
            raise _refuse(result.violations)
        was = [(a, a.start_at) for a in moving]
        for a, slot in zip(moving, result.slots, strict=True):
            _place(a, slot, course)
        s.flush()
        cleared = _clear_flags(enrolment, course, set(ids), now)
        outbox.tell_sessions_moved(s, enrolment, was, now)
        record(
            s,
            actor,
            "replan",
            "enrolment",
            enrolment.id,
            client_id=enrolment.client_id,
            moves=[
                {"appointment": a.id, "from": old.isoformat(), "to": a.start_at.isoformat()}
                for a, old in was
            ],
            flags_cleared=sorted(cleared) or None,
        )
    return sorted(moving, key=lambda a: a.session)


def _clear_flags(
    enrolment: Enrolment, course: CourseRules, moved: set[int], now: datetime
) -> set[int]:
    """Delete the flags of the enrolment's sessions that hold after the moves: the moved ones
    (judged together just now) and any other flagged one the checker now accepts where it is."""
    s = db_session()
    flagged = set(
        s.scalars(
            select(AttentionFlag.appointment_id).where(
                AttentionFlag.appointment_id.in_([a.id for a in enrolment.appointments])
            )
        )
    )
    holding = flagged & moved
    others = [
        a
        for a in enrolment.appointments
        if a.id in flagged - moved and a.status == "booked" and a.start_at > now
    ]
    if others:
        snapshot = load_snapshot()
        client = client_reads.client_state(enrolment.client_id, now)
        for a in others:
            judged = check_course(
                snapshot=snapshot,
                course=course,
                client=client,
                proposals=[ProposedSession(a.session, a.start_at, a.practitioner_id)],
                now=now,
                enrolment_id=enrolment.id,
                replacing=frozenset({a.id}),
                by_staff=True,
                override_soft=bool(a.override_reason),
                precare_confirmed=True,
            )
            if judged.ok:
                holding.add(a.id)
    if holding:
        s.execute(
            delete(AttentionFlag)
            .where(AttentionFlag.appointment_id.in_(holding))
            .execution_options(synchronize_session="fetch")
        )
    return holding
