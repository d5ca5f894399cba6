"""Planning and booking a course (DOMAIN.md "Planning a course"): propose every session, book
them all or none, and offer another time for one session of a proposal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from clinic.models import (
    Enrolment,
    Practitioner,
    utcnow,
)
from clinic.scheduling import (
    BookedSession,
    CheckResult,
    ClientState,
    CourseRules,
    DayOffer,
    DayResources,
    Preferences,
    ProposedSession,
    Slot,
    Snapshot,
    Violation,
    check_course,
    offer_day,
    plan_course,
    plan_with_patch_test,
)
from clinic.services.core import date_range
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record, shown_in_violations
from clinic.services.core.db import db_session, lock_client, transaction
from clinic.services.core.errors import (
    AlreadyEnrolled,
    InvalidRequest,
    NotFound,
    RuleViolation,
    refusal,
)
from clinic.services.core.permissions import (
    is_staff,
    override_allowed,
    precare_confirmation_allowed,
    require_booker,
)
from clinic.services.courses.placing import (
    CoursePlan,
    SessionRequest,
    new_appointment,
    only_practitioner,
    planned,
    precare_begun,
)
from clinic.services.messages import notices
from clinic.services.world import client_reads, course_catalogue, flags, progress
from clinic.services.world.aftercare import rules_record
from clinic.services.world.client_reads import (
    named_client_id,
    require_visible_client,
    resolve_client_id,
)
from clinic.services.world.screening import require_current_screening
from clinic.services.world.snapshot import load_snapshot


def _require_no_open_enrolment(client_id: int, course_id: int, course: CourseRules) -> None:
    """Rule 12: a client holds at most one enrolment of a course with sessions still to come
    (booked, whatever their date, until staff record how they went, or still to book into it:
    see services/progress.py), so spacing cannot be dodged with a second enrolment. A course
    cancelled or finished may be booked again, and a single-session course any time: it has
    no spacing to dodge (docs/DECISIONS.md)."""
    if course.sessions == 1:
        return
    enrolments = db_session().scalars(
        select(Enrolment)
        .options(selectinload(Enrolment.appointments), selectinload(Enrolment.course))
        .where(
            Enrolment.client_id == client_id,
            Enrolment.course_id == course_id,
            Enrolment.status == "active",
        )
        .order_by(Enrolment.id)
    )
    open_one = next((e.id for e in enrolments if not progress.enrolment_progress(e).finished), None)
    if open_one is not None:
        raise AlreadyEnrolled(
            Violation(
                "already_enrolled",
                f"You are already booked on {course.name} with sessions still to come; "
                "further sessions go into that booking, or change its dates instead.",
            ),
            enrolment_id=open_one,
            client_id=client_id,
        )


def plan_course_for(
    *,
    actor: Actor,
    course_code: str,
    client_id: int | None,
    earliest: date,
    preferences: Preferences | None = None,
    now: datetime | None = None,
) -> CoursePlan:
    """Propose every session of a course for a client; writes nothing."""
    now = now or utcnow()
    require_booker(actor)
    client = resolve_client_id(actor, client_id)
    require_current_screening(actor=actor, client_id=client, now=now)
    _, course = course_catalogue.course(course_code)
    date_range.check_bookable_day(earliest, field="earliest", now=now)
    wanted = preferences.practitioner_id if preferences is not None else None
    if wanted is not None and db_session().get(Practitioner, wanted) is None:
        raise NotFound("There is no such practitioner.", field="preferences.practitioner")
    snapshot = load_snapshot(remembered=True)
    state = client_reads.client_state(client, now, enrolments=())
    test = _patch_test_needed(course, state)
    test_slot = None
    if test is None:
        result = plan_course(
            snapshot=snapshot,
            course=course,
            client=state,
            earliest=earliest,
            now=now,
            prefs=preferences,
            by_staff=is_staff(actor),
        )
    else:
        test_slot, result = plan_with_patch_test(
            snapshot=snapshot,
            course=course,
            test_course=test[1],
            client=state,
            earliest=earliest,
            now=now,
            prefs=preferences,
            by_staff=is_staff(actor),
        )
    if not result.ok:
        shown_in_violations(actor, client, result.violations, "plan")
        raise RuleViolation(list(result.violations))
    return CoursePlan(
        course.code,
        client,
        planned(result.slots, course, 1),
        result.notes,
        patch_test=planned([test_slot], test[1], 1)[0] if test and test_slot else None,
        patch_test_course=test[1].code if test else None,
    )


def _book_patch_test(
    s: Session,
    actor: Actor,
    client_id: int,
    course: CourseRules,
    state: ClientState,
    request: SessionRequest,
    snapshot: Snapshot,
    now: datetime,
    by_staff: bool,
) -> ClientState:
    """Write, in `book_course`'s transaction, the patch test asked with a course and return
    the client's state with it: the course is then judged against it (its window, rule 9)."""
    test_id, test_course, checked, _ = _judge_patch_test(
        actor, client_id, course, state, request, snapshot, now, by_staff
    )
    enrolment = Enrolment(
        client=client_reads.get_client(client_id),
        client_id=client_id,
        course_id=test_id,
        created_by_id=actor.user_id,
        rules=rules_record(test_course),
    )
    s.add(enrolment)
    (session,) = planned(checked.slots, test_course, 1)
    appointment = new_appointment(enrolment, 1, session.slot, test_course, "")
    s.add(appointment)
    s.flush()
    notices.confirm_booking(s, enrolment, now, care={appointment.id: session.care})
    record(
        s,
        actor,
        "book",
        "enrolment",
        enrolment.id,
        client_id=client_id,
        course=test_course.code,
        sessions=[session.slot.start.isoformat()],
        patch_test_for=course.code,
    )
    taken = BookedSession(
        appointment.id, enrolment.id, 1, session.slot.start, session.slot.end, test_course
    )
    return replace(state, sessions=(*state.sessions, taken))


def _judge_patch_test(
    actor: Actor,
    client_id: int,
    course: CourseRules,
    state: ClientState,
    request: SessionRequest,
    snapshot: Snapshot,
    now: datetime,
    by_staff: bool,
) -> tuple[int, CourseRules, CheckResult, ClientState]:
    """The patch test asked with a course, judged as a booking of its own one-session course
    (refused, naming its problems, if it breaks a rule), and the client's state with it as
    proposed: the course's sessions are judged against that state."""
    if course.procedure.patch_test is None:
        raise InvalidRequest(f"{course.name} needs no patch test.", field="patch_test")
    test_id, test_course = _patch_test_course(course)
    checked = _check_new_course(
        snapshot=snapshot,
        course=test_course,
        client=state,
        sessions=[request],
        now=now,
        by_staff=by_staff,
    )
    if not checked.ok:
        shown_in_violations(actor, client_id, checked.violations, "booking")
        raise refusal([replace(v, session=None) for v in checked.violations])
    slot = checked.slots[0]
    proposed = BookedSession(0, -1, 1, slot.start, slot.end, test_course)
    return test_id, test_course, checked, replace(state, sessions=(*state.sessions, proposed))


def _patch_test_needed(course: CourseRules, client: ClientState) -> tuple[int, CourseRules] | None:
    """The course to book the patch test the course's procedure needs, if the client has had
    none booked or held (one that was is judged by the patch-test rule itself: its window, a
    reaction). RuleViolation if the catalogue has no course to book the test with."""
    rule = course.procedure.patch_test
    if rule is None or any(s.course.procedure.code == rule.procedure for s in client.sessions):
        return None
    return _patch_test_course(course)


def _patch_test_course(course: CourseRules) -> tuple[int, CourseRules]:
    """The course a patch test for `course` is booked as (course_catalogue.patch_test_course);
    RuleViolation if the catalogue has none."""
    rule = course.procedure.patch_test
    assert rule is not None
    test = course_catalogue.patch_test_course(rule.procedure)
    if test is None:
        raise RuleViolation(
            [
                Violation(
                    "patch_test_required",
                    f"{course.procedure.name} needs a patch test first, and the clinic has no "
                    "patch test to book online yet: please call the clinic.",
                    1,
                )
            ]
        )
    return test


def book_course(
    *,
    actor: Actor,
    course_code: str,
    client_id: int | None,
    sessions: Sequence[SessionRequest],
    override_reason: str = "",
    precare_confirmed: bool = False,
    patch_test: SessionRequest | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """Enrol a client in a course with the given sessions (the whole course or its first ones),
    atomically: every session is written, or none. `precare_confirmed` (staff only): the client
    has kept the pre-care of a session that has already begun (rule 11); it is audited with
    the actor who said so. `patch_test`: the patch test the course's procedure needs, booked
    with it (its own one-session course) and judged first, in the same transaction."""
    now = now or utcnow()
    require_booker(actor)
    if not sessions:
        raise InvalidRequest("Give at least one session.", field="sessions")
    override = override_allowed(actor, override_reason)
    confirmed = precare_confirmation_allowed(actor, precare_confirmed)
    by_staff = is_staff(actor)
    reason = override_reason if override else ""
    with transaction() as s:
        client = named_client_id(actor, client_id)
        # The lock first: everything the booking is judged on is read after it, once.
        lock_client(client)
        # Numbered in order of their starts, as `_check_new_course` numbers them.
        date_range.check_starts(enumerate(sorted(r.start for r in sessions), start=1), now=now)
        require_visible_client(actor, client)
        require_current_screening(actor=actor, client_id=client, now=now)
        course_id, course = course_catalogue.course(course_code)
        _require_no_open_enrolment(client, course_id, course)
        if len(sessions) > course.sessions:
            raise InvalidRequest(
                f"{course.name} has {course.sessions} sessions; {len(sessions)} were given.",
                field="sessions",
            )
        snapshot = load_snapshot()
        state = client_reads.client_state(client, now, enrolments=())
        if patch_test is not None:
            state = _book_patch_test(
                s, actor, client, course, state, patch_test, snapshot, now, by_staff
            )
        result = _check_new_course(
            snapshot=snapshot,
            course=course,
            client=state,
            sessions=sessions,
            now=now,
            by_staff=by_staff,
            override=override,
            precare_confirmed=confirmed,
        )
        if not result.ok:
            shown_in_violations(actor, client, result.violations, "booking")
            raise refusal(result.violations)
        kept = [i + 1 for i in precare_begun(result.slots, course, now)] if confirmed else []
        enrolment = Enrolment(
            # The row this transaction read (the confirmation names the client).
            client=client_reads.get_client(client),
            client_id=client,
            course_id=course_id,
            created_by_id=actor.user_id,
            rules=rules_record(course),  # the rules it keeps (aftercare.enrolment_rules)
        )
        s.add(enrolment)
        # One flush for the enrolment and its sessions, which stay in memory: the enrolment's
        # rules are `course`, so each session's care dates are computed here, once.
        booked = [
            (new_appointment(enrolment, p.session, p.slot, course, reason), p.care)
            for p in planned(result.slots, course, 1)
        ]
        s.add_all(a for a, _ in booked)
        s.flush()
        flags.raise_for(
            flags.by_session(result.flags, ((a.session, a.id) for a, _ in booked)), now=now
        )
        notices.confirm_booking(s, enrolment, now, care={a.id: care for a, care in booked})
        record(
            s,
            actor,
            "book",
            "enrolment",
            enrolment.id,
            client_id=client,
            course=course.code,
            sessions=[slot.start.isoformat() for slot in result.slots],
            override_reason=reason or None,
            precare_confirmed=kept or None,
        )
    return enrolment


def _check_new_course(
    *,
    snapshot: Snapshot,
    course: CourseRules,
    client: ClientState,
    sessions: Sequence[SessionRequest],
    now: datetime,
    by_staff: bool,
    override: bool = False,
    precare_confirmed: bool = False,
    days: dict[date, DayResources] | None = None,
) -> CheckResult:
    """The check `book_course` makes of the sessions asked (numbered in order of their
    starts); `proposal_offers` asks the same of each other time for one of them."""
    ordered = sorted(sessions, key=lambda r: r.start)
    return check_course(
        snapshot=snapshot,
        course=course,
        client=client,
        proposals=[
            ProposedSession(i + 1, r.start, r.practitioner_id) for i, r in enumerate(ordered)
        ],
        now=now,
        by_staff=by_staff,
        override_soft=override,
        precare_confirmed=precare_confirmed,
        days=days,
    )


def proposal_offers(
    *,
    actor: Actor,
    course_code: str,
    client_id: int | None,
    sessions: Sequence[SessionRequest],
    number: int,
    day: date,
    patch_test: SessionRequest | None = None,
    now: datetime | None = None,
) -> DayOffer:
    """Another time for session `number` (from 1) of a proposed course: the starts of a local
    day that `book_course` would accept with the other sessions as proposed, each with the
    session's own practitioner if free, else the first free one. Writes nothing."""
    now = now or utcnow()
    require_booker(actor)
    if not 1 <= number <= len(sessions):
        raise NotFound("There is no such session in this proposal.", field="k")
    date_range.check_bookable_day(day, field="day", now=now)
    client = resolve_client_id(actor, client_id)
    _, course = course_catalogue.course(course_code)
    snapshot = load_snapshot(remembered=True)
    state = client_reads.client_state(client, now, enrolments=())
    if patch_test is not None:  # the course's sessions are judged with the test proposed
        *_, state = _judge_patch_test(
            actor, client, course, state, patch_test, snapshot, now, is_staff(actor)
        )
    wanted = sessions[number - 1].practitioner_id

    def judge(slot: Slot, days: dict[date, DayResources]) -> CheckResult:
        result = CheckResult((), ())
        for practitioner_id in dict.fromkeys((wanted, slot.practitioner_id)):
            asked = list(sessions)
            asked[number - 1] = SessionRequest(slot.start, practitioner_id)
            result = _check_new_course(
                snapshot=snapshot,
                course=course,
                client=state,
                sessions=asked,
                now=now,
                by_staff=is_staff(actor),
                days=days,
            )
            if result.ok or not only_practitioner(result.violations):
                break
        return result

    return offer_day(snapshot=snapshot, procedure=course.procedure, day=day, now=now, judge=judge)
