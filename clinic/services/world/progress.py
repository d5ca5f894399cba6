"""How far an enrolment has got: the one place that counts held, missed and remaining sessions.

DOMAIN.md "No-show and make-up": a no-show does not count as held; the enrolment gets a
make-up session in its place unless the clinic's policy `no_show_uses_session` says the
missed session is used up. Cancelled sessions count for nothing: they are still to book.
"""

from __future__ import annotations

from dataclasses import dataclass

from clinic.models import HOLDING_STATUSES, Appointment, Enrolment
from clinic.services.core import clinic_setup
from clinic.services.world.aftercare import enrolment_rules


@dataclass(frozen=True, slots=True)
class Progress:
    total: int  # the course's sessions, plus a make-up for each no-show unless used up
    held: int  # done
    missed: int  # no-show
    booked: int  # booked, past or future, outcome not yet recorded
    remaining: int  # still to plan and book

    @property
    def finished(self) -> bool:
        """Nothing booked and nothing left to book: the course is over."""
        return self.booked == 0 and self.remaining == 0


def enrolment_progress(enrolment: Enrolment, sessions: int | None = None) -> Progress:
    """The enrolment's counts; `sessions` is the number its rules give (default: the rules it
    was booked under, `aftercare.enrolment_rules`)."""
    sessions = enrolment_rules(enrolment).sessions if sessions is None else sessions
    statuses = [a.status for a in enrolment.appointments]
    held, missed, booked = (statuses.count(s) for s in ("done", "no_show", "booked"))
    total = sessions + (0 if clinic_setup.settings().no_show_uses_session else missed)
    return Progress(total, held, missed, booked, max(0, total - held - missed - booked))


def next_session_number(enrolment: Enrolment) -> int:
    """The number a new session of the enrolment takes: after the highest one held, missed or
    booked (a cancelled session gave its number up). New sessions follow the last one in
    time, so session order is time order (docs/DECISIONS.md "The rest of a course")."""
    used = (a.session for a in enrolment.appointments if a.status in HOLDING_STATUSES)
    return max(used, default=0) + 1


@dataclass(frozen=True, slots=True)
class Place:
    """Where a session stands in its course as the client counts: the `number`-th of `of`,
    and, for a make-up, the number of the missed session it makes up (`makes_up`)."""

    number: int
    of: int
    makes_up: int | None = None


def session_place(appointment: Appointment) -> Place:
    """The one count of "session N of M" for emails, calendar files and pages. A session's
    stored number is its order among the enrolment's sessions, missed ones included, and a
    make-up takes the next one (`next_session_number`): read as such, a course with a no-show
    would end at "session 7 of 6". Counted here instead: the sessions that count towards the
    course (held, booked, or missed where the policy uses a missed session up) up to this one;
    a missed session keeps the place it had. A make-up is the first session after a no-show
    in the course, booked after it (or numbered past the course's sessions), not already
    making up an earlier one."""
    enrolment = appointment.enrolment
    uses_up = clinic_setup.settings().no_show_uses_session
    used = sorted(
        (a for a in enrolment.appointments if a.status in HOLDING_STATUSES),
        key=lambda a: (a.session, a.id),
    )

    def counts(a: Appointment) -> bool:
        return a.status != "no_show" or uses_up

    places: dict[int, int] = {}
    n = 0
    for a in used:
        places[a.id] = n + 1
        n += counts(a)
    makes_up: dict[int, int] = {}
    if not uses_up:
        for missed in (a for a in used if a.status == "no_show"):
            for a in used:
                if (
                    counts(a)
                    and a.session > missed.session
                    and a.id not in makes_up
                    and (a.created_at > missed.start_at or a.session > enrolment.course_sessions)
                ):
                    makes_up[a.id] = places[missed.id]
                    break
    number = places.get(appointment.id, appointment.session)
    return Place(number, enrolment.course_sessions, makes_up.get(appointment.id))
