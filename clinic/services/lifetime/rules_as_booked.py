"""Moving a booked course to its template's current rules (DOMAIN.md "A course over its
lifetime", rules as booked).

An enrolment keeps the rules it was booked under (`aftercare.enrolment_rules`); an edit of
the template changes new bookings only. Staff may move an enrolment to the current rules:
every session still to come is judged under them where it is booked (`world.judge`, the
enrolment's other sessions fixed), and the change is written only if every one of them holds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import selectinload

from clinic.models import Appointment, Course, Enrolment, utcnow
from clinic.scheduling import ClientState, CourseRules, Violation
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record, shown_in_violations
from clinic.services.core.db import db_session, lock_client, transaction
from clinic.services.core.errors import NotFound, PermissionDenied, RuleViolation
from clinic.services.core.permissions import can_change_course_rules
from clinic.services.messages import reminders
from clinic.services.world import client_reads, course_catalogue, judge
from clinic.services.world.aftercare import enrolment_rules, rules_record, same_rules
from clinic.services.world.course_wording import CareText, describe_course
from clinic.services.world.snapshot import load_snapshot


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """One session still to come, and the rules it would break under the current rules."""

    appointment: Appointment
    violations: tuple[Violation, ...]


@dataclass(frozen=True, slots=True)
class RulesChange:
    """What moving an enrolment to its course's current rules would do."""

    enrolment: Enrolment
    kept: CourseRules  # the rules it was booked under
    current: CourseRules  # the template's rules now
    sessions: tuple[SessionCheck, ...]  # its booked sessions still to come

    @property
    def differs(self) -> bool:
        return not same_rules(rules_record(self.kept), rules_record(self.current))

    @property
    def broken(self) -> tuple[SessionCheck, ...]:
        return tuple(c for c in self.sessions if c.violations)

    @property
    def ok(self) -> bool:
        return not self.broken

    @property
    def kept_text(self) -> str:
        return describe_rules(self.kept)

    @property
    def current_text(self) -> str:
        return describe_rules(self.current)


def describe_rules(rules: CourseRules) -> str:
    """A course's rules in one sentence, as the catalogue editor words them."""
    return describe_course(
        sessions=rules.sessions,
        min_days=rules.min_interval_days,
        max_days=rules.max_interval_days,
        ideal_days=rules.ideal_interval_days,
        aftercare=[CareText(c.text, c.hours) for c in rules.aftercare],
        precare=[CareText(c.text, c.hours) for c in rules.precare],
        contraindications=[(c.condition, c.lookback_days) for c in rules.contraindications],
        months=sorted(rules.months),
        phototypes=sorted(rules.phototypes),
    )


def _require_desk(actor: Actor) -> None:
    if not can_change_course_rules(actor):
        raise PermissionDenied("Reception moves a booked course to the current rules.")


def _enrolment(enrolment_id: int) -> Enrolment:
    enrolment = db_session().get(
        Enrolment,
        enrolment_id,
        options=[selectinload(Enrolment.appointments), selectinload(Enrolment.course)],
    )
    if enrolment is None:
        raise NotFound("There is no such course booking.")
    return enrolment


def _current_rules(course: Course) -> CourseRules:
    # A retired course still has rules (its booked courses keep running).
    return course_catalogue.course_rules(
        course_catalogue.get_course(course.code, include_retired=True)
    )


def _with_rules(client: ClientState, enrolment_id: int, rules: CourseRules) -> ClientState:
    """The client as the checks see them once the enrolment follows `rules`."""
    sessions = tuple(
        dataclasses.replace(b, course=rules) if b.enrolment_id == enrolment_id else b
        for b in client.sessions
    )
    return dataclasses.replace(client, sessions=sessions)


def _check(enrolment: Enrolment, now: datetime) -> RulesChange:
    """Every booked session still to come, judged under the current rules where it is, the
    enrolment's other sessions fixed, by the one judge of a booked session (`world.judge`:
    its own override, its own room and device)."""
    kept = enrolment_rules(enrolment)
    current = _current_rules(enrolment.course)
    to_come = sorted(
        (a for a in enrolment.appointments if a.is_to_come(now)),
        key=lambda a: a.session,
    )
    snapshot = load_snapshot()
    client = _with_rules(
        client_reads.client_state(enrolment.client_id, now, enrolments=(enrolment.id,)),
        enrolment.id,
        current,
    )
    checks = []
    for a in to_come:
        found: list[Violation] = []
        if a.session > current.sessions:
            found.append(
                Violation(
                    "too_many_sessions",
                    f"Session {a.session} is beyond the {current.sessions} sessions "
                    f"{current.name} now has.",
                    session=a.session,
                )
            )
        found += judge.as_booked(
            a, snapshot=snapshot, client=client, now=now, course=current, waiting=False
        )
        checks.append(SessionCheck(a, tuple(found)))
    return RulesChange(enrolment, kept, current, tuple(checks))


def adopt_current_rules(
    *, actor: Actor, enrolment_id: int, now: datetime | None = None, confirm: bool = False
) -> RulesChange:
    """Check an enrolment's sessions still to come under its course's current rules and, with
    `confirm`, move the enrolment to them. Without `confirm` nothing is written and the
    answer is the preview (sessions that would break included). With `confirm`, a session
    that would break refuses the whole change (`RuleViolation` with each session's
    sentences); otherwise the new rules are written and audited, and the client's reminders
    and care notices follow them."""
    now = now or utcnow()
    _require_desk(actor)
    with transaction() as s:
        enrolment = _enrolment(enrolment_id)
        lock_client(enrolment.client_id)
        enrolment = _enrolment(enrolment_id)
        change = _check(enrolment, now)
        if change.differs or (confirm and not change.ok):  # what the answer then lists
            shown_in_violations(
                actor,
                enrolment.client_id,
                [v for c in change.broken for v in c.violations],
                "rules as booked",
            )
        if not confirm:
            return change
        if not change.ok:
            raise RuleViolation(
                [v for c in change.broken for v in c.violations],
                affected=[c.appointment.id for c in change.broken],
            )
        if change.differs:
            enrolment.rules = rules_record(change.current)
            s.flush()  # the client's care dates are read again from the new rules
            reminders.refresh(s, enrolment.client_id, now)
            record(
                s,
                actor,
                "adopt_rules",
                "enrolment",
                enrolment.id,
                client_id=enrolment.client_id,
                course=enrolment.course.code,
                was=rules_record(change.kept),
            )
    return change
