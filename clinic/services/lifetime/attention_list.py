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

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, delete, func, select
from sqlalchemy.orm import selectinload

from clinic.models import Appointment, AttentionFlag, Course, Enrolment, Practitioner, utcnow
from clinic.scheduling import (
    ClientState,
    CourseRules,
    ProposedSession,
    Slot,
    Violation,
    check_course,
)
from clinic.scheduling.replan import Replan, minimal_replan
from clinic.services.core import date_range
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record, shown_in_errors
from clinic.services.core.db import db_session, lock_client, transaction
from clinic.services.core.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    refusal,
)
from clinic.services.core.permissions import (
    is_desk,
    is_practitioner,
    is_staff,
    visible_appointments,
)
from clinic.services.courses.moves import Seen, as_seen, what_changed
from clinic.services.courses.placing import place
from clinic.services.messages import notices
from clinic.services.world import client_reads, flags, judge
from clinic.services.world.aftercare import enrolment_rules
from clinic.services.world.snapshot import load_snapshot


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
    # The session as the list saw it (status, start, practitioner id): accepting the re-plan
    # is refused if it changed since (`accept_replan`).
    seen: Seen


@dataclass(frozen=True, slots=True)
class EnrolmentReplan:
    """The re-plan of one enrolment: the moves, the enrolment's other future sessions, which
    stay, and, when no re-plan keeps every rule, why (then `moves` is empty). A re-plan with
    no moves and no problems: every flagged session holds where it is (the world changed back
    or a neighbour moved), and accepting it only clears the flags."""

    enrolment_id: int
    moves: tuple[Move, ...]
    stays: tuple[int, ...]  # session numbers
    problems: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


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
    """A move asked for when accepting a re-plan; practitioner None means any qualified one.
    `seen`: the session as the list showed it (`Move.seen`); None takes it as it is now."""

    appointment_id: int
    start: datetime
    practitioner_id: int | None = None
    seen: Seen | None = None


def _require_staff(actor: Actor) -> None:
    if not is_staff(actor):
        raise PermissionDenied("The attention list is for the clinic's staff.")


def _live_flags(actor: Actor | None, now: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """Whether a flag's session is still booked and to come (older flags are history, not
    work); a practitioner sees their own sessions only, as on the calendar (`actor` None:
    every flag, whoever asks).

    A correlated EXISTS: the database walks the flags and looks each session up by its key.
    A join let SQLite walk every future appointment by `start_at` instead, a cost that grows
    with the table."""
    live = select(Appointment.id).where(
        Appointment.id == AttentionFlag.appointment_id, Appointment.to_come(now)
    )
    if actor is not None:
        live = live.where(visible_appointments(actor))
    return live.exists()


def count_attention(*, actor: Actor, now: datetime | None = None) -> int:
    """How many flagged sessions are waiting (the staff navigation's count): one COUNT."""
    _require_staff(actor)
    s = db_session()
    s.flush()  # as the session's own execute would: flags this transaction added count
    values = {"now": now or utcnow()}
    count: int = s.connection().execute(_count_query(actor), values).scalar_one()
    return count


@functools.lru_cache(maxsize=256)
def _count_query(actor: Actor) -> Select[int]:
    """`count_attention`'s statement for one actor (whose sessions they see), with `now` as a
    parameter, built once: every staff page shows the count, and building the statement and
    SQLAlchemy's cache key for it cost several times running it."""
    live = _live_flags(actor, bindparam("now"))
    return select(func.count()).select_from(AttentionFlag).where(live)


def flag_of(*, actor: Actor, appointment_id: int) -> AttentionFlag | None:
    """The flag of one session, if a change of the world broke it (the session's page)."""
    flag = db_session().get(AttentionFlag, appointment_id)
    if flag is not None:
        shown_in_errors(
            actor, [(flag.appointment.client_id, _codes(flag.errors))], "flagged session"
        )
    return flag


def _codes(errors: Sequence[dict[str, object]]) -> list[str]:
    return [str(e.get("code", "")) for e in errors]


def attention_list(
    *, actor: Actor, client_id: int | None = None, now: datetime | None = None
) -> list[Attention]:
    """Every flagged future session (of one client, if given), soonest first, each with the
    rules it breaks and a re-plan of its enrolment that moves as few sessions as possible
    (all of the enrolment's flagged sessions count as broken); writes nothing.

    A practitioner sees the flags of their own sessions only, but a re-plan is the clinic's:
    it counts every flagged session of the enrolment, whoever's it is (reception and the
    practitioner are shown the same re-plan)."""
    _require_staff(actor)
    now = now or utcnow()
    s = db_session()
    flags = {
        f.appointment_id: f for f in s.scalars(select(AttentionFlag).where(_live_flags(actor, now)))
    }
    if not flags:
        return []
    enrolment = selectinload(Appointment.enrolment)
    query = (
        select(Appointment)
        .options(
            enrolment.selectinload(Enrolment.course).selectinload(Course.procedure),
            selectinload(Appointment.client),
            selectinload(Appointment.practitioner),
        )
        .where(Appointment.id.in_(flags))
    )
    if client_id is not None:
        query = query.where(Appointment.client_id == client_id)
    appointments = sorted(s.scalars(query), key=lambda a: (a.start_at, a.id))
    rows = [(flags[a.id], a) for a in appointments]
    if not rows:
        return []
    broken: dict[int, set[int]] = {}
    concerned: dict[int, set[int]] = {}  # client -> the enrolments re-planned
    for _, a in rows:
        broken.setdefault(a.enrolment_id, set()).add(a.id)
        concerned.setdefault(a.client_id, set()).add(a.enrolment_id)
    if is_practitioner(actor):
        # The flags of these enrolments' other sessions (someone else's), which the re-plan
        # must move too; through the client's index, as `_sessions_of` reaches an enrolment.
        others = s.execute(
            select(Appointment.enrolment_id, Appointment.id).where(
                Appointment.client_id.in_(sorted({a.client_id for _, a in rows})),
                Appointment.enrolment_id.in_(list(broken)),
                Appointment.id.in_(
                    select(AttentionFlag.appointment_id).where(_live_flags(None, now))
                ),
            )
        )
        for enrolment_id, appointment_id in others:
            broken[enrolment_id].add(appointment_id)
    snapshot = load_snapshot(remembered=True)
    names = {p.id: p.name for p in snapshot.practitioners}
    states = client_reads.client_states(concerned, now)
    results: dict[int, tuple[Appointment, Replan]] = {}
    for _, a in rows:
        if a.enrolment_id in results:
            continue
        results[a.enrolment_id] = (
            a,
            minimal_replan(
                snapshot=snapshot,
                course=enrolment_rules(a.enrolment),
                client=states[a.client_id],
                enrolment_id=a.enrolment_id,
                broken=frozenset(broken[a.enrolment_id]),
                now=now,
                by_staff=True,
            ),
        )
    moving = [i for _, r in results.values() if r.ok for i, _ in r.moves]
    booked_with = {
        i: (name, (status, start, practitioner_id))
        for i, name, status, start, practitioner_id in s.execute(
            select(
                Appointment.id,
                Practitioner.name,
                Appointment.status,
                Appointment.start_at,
                Appointment.practitioner_id,
            )
            .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
            .where(Appointment.id.in_(moving))
        )
    }
    replans = {
        enrolment_id: _replan(
            enrolment_id,
            states[a.client_id],
            result,
            now,
            booked_with,
            names,
        )
        for enrolment_id, (a, result) in results.items()
    }
    shown_in_errors(
        actor,
        [
            (
                a.client_id,
                [*_codes(flag.errors), *(v.code for v in replans[a.enrolment_id].problems)],
            )
            for flag, a in rows
        ],
        "attention list",
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
    enrolment_id: int,
    client: ClientState,
    result: Replan,
    now: datetime,
    booked_with: dict[int, tuple[str, Seen]],
    names: dict[int, str],
) -> EnrolmentReplan:
    """The engine's re-plan in the words of the page: who and when before and after (and the
    session as seen), and which of the enrolment's sessions to come stay where they are."""
    booked = {
        b.appointment_id: b
        for b in client.sessions
        if b.enrolment_id == enrolment_id and b.start > now
    }
    moves = result.moves if result.ok else ()
    out = tuple(
        Move(
            appointment_id=i,
            session=booked[i].session,
            start=booked[i].start,
            practitioner=booked_with[i][0],
            slot=slot,
            new_practitioner=names.get(slot.practitioner_id, ""),
            seen=booked_with[i][1],
        )
        for i, slot in sorted(moves, key=lambda m: m[1].start)
        if i in booked and i in booked_with
    )
    moved = {m.appointment_id for m in out}
    stays = tuple(sorted(b.session for i, b in booked.items() if i not in moved))
    return EnrolmentReplan(enrolment_id, out, stays, tuple(result.violations))


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
    client is told the new dates, and the change is audited. Returns the moved sessions.
    No moves: nothing moves, and the flags of the enrolment's sessions that hold where they
    are go (a re-plan that found nothing to move).

    A move given with the session as it was seen (`ReplanRequest.seen`, the list's
    `Move.seen`) was meant for that session: if it changed since (moved by the client,
    cancelled, re-planned at another desk), nothing moves and `Conflict`
    `appointment_changed` says what changed (the move's "as seen" rule, `moves.as_seen`)."""
    now = now or utcnow()
    if not is_desk(actor):
        raise PermissionDenied("Reception accepts re-plans.")
    ids = [m.appointment_id for m in moves]
    if len(set(ids)) != len(ids):
        raise InvalidRequest("Each session may be moved only once.", field="sessions")
    with transaction() as s:
        enrolment = s.get(Enrolment, enrolment_id)
        if enrolment is None:
            raise NotFound("There is no such course booking.")
        lock_client(enrolment.client_id)
        mine = {a.id: a for a in _sessions_of(enrolment)}
        moving = []
        for m in moves:
            a = mine.get(m.appointment_id)
            if a is None:
                raise InvalidRequest(
                    f"Appointment {m.appointment_id} is not a session of this course booking.",
                    field="sessions",
                )
            moving.append(a)
        changed = [a for a, m in zip(moving, moves, strict=True) if m.seen and as_seen(a) != m.seen]
        if changed:
            raise Conflict(
                " ".join(what_changed(a, f"Session {a.session}") for a in changed),
                code="appointment_changed",
                affected=[a.id for a in changed],
            )
        for a in moving:
            if a.status != "booked" or a.start_at <= now:
                raise Conflict(
                    f"Session {a.session} is no longer a booked session to come; "
                    "nothing was changed.",
                    code="appointment_changed",
                    affected=[a.id],
                )
        date_range.check_starts(
            ((a.session, m.start) for a, m in zip(moving, moves, strict=True)), now=now
        )
        course = enrolment_rules(enrolment)
        if not moving:
            cleared = _clear_flags(enrolment, course, set(), now)
            record(
                s,
                actor,
                "replan",
                "enrolment",
                enrolment.id,
                client_id=enrolment.client_id,
                moves=[],
                flags_cleared=sorted(cleared) or None,
            )
            return []
        result = check_course(
            snapshot=load_snapshot(),
            course=course,
            client=client_reads.client_state(enrolment.client_id, now, enrolments=(enrolment.id,)),
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
            shown_in_errors(
                actor, [(enrolment.client_id, [v.code for v in result.violations])], "re-plan"
            )
            raise refusal(result.violations)
        before = {a.id: (a.start_at, a.practitioner_id) for a in moving}
        for a, slot in zip(moving, result.slots, strict=True):
            place(a, slot, course)
            # The rows loaded with the old ids would still name the old practitioner and room.
            s.expire(a, ["practitioner", "device", "room"])
        s.flush()
        cleared = _clear_flags(enrolment, course, set(ids), now)
        # Moved sessions still waiting for a consent stay on the list for it.
        flags.raise_for(
            flags.by_session(result.flags, ((a.session, a.id) for a in moving)), now=now
        )
        cleared -= set(flags.flags_of(cleared))
        # A re-plan accepted twice (a double click, two desks) moves nothing the second time,
        # and the client is not told twice.
        was = [
            (a, before[a.id][0]) for a in moving if (a.start_at, a.practitioner_id) != before[a.id]
        ]
        if was:
            notices.tell_sessions_moved(s, enrolment, was, now)
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


def _sessions_of(enrolment: Enrolment) -> list[Appointment]:
    """The enrolment's sessions, found through the client's index (appointments has none on
    `enrolment_id`, and `Enrolment.appointments` would scan the table)."""
    return list(
        db_session().scalars(
            select(Appointment).where(
                Appointment.client_id == enrolment.client_id,
                Appointment.enrolment_id == enrolment.id,
            )
        )
    )


def _clear_flags(
    enrolment: Enrolment, course: CourseRules, moved: set[int], now: datetime
) -> set[int]:
    """Delete the flags of the enrolment's sessions that hold after the moves: the moved ones
    (judged together just now) and any other flagged one that holds where it is booked (the
    one judge of a booked session, `world.judge`: its override, its room and device)."""
    s = db_session()
    sessions = _sessions_of(enrolment)
    flagged = set(
        s.scalars(
            select(AttentionFlag.appointment_id).where(
                AttentionFlag.appointment_id.in_([a.id for a in sessions])
            )
        )
    )
    holding = flagged & moved
    others = [a for a in sessions if a.id in flagged - moved and a.is_to_come(now)]
    if others:
        snapshot = load_snapshot()
        client = client_reads.client_state(enrolment.client_id, now, enrolments=(enrolment.id,))
        for a in others:
            if not judge.as_booked(a, snapshot=snapshot, client=client, now=now, course=course):
                holding.add(a.id)
    if holding:
        s.execute(
            delete(AttentionFlag)
            .where(AttentionFlag.appointment_id.in_(holding))
            .execution_options(synchronize_session="fetch")
        )
    return holding
