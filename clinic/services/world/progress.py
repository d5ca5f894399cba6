"""How far an enrolment has got: the one place that counts held, missed and remaining sessions.

DOMAIN.md "No-show and make-up": a no-show does not count as held; the enrolment gets a
make-up session in its place unless the clinic's policy `no_show_uses_session` says the
missed session is used up. Cancelled sessions count for nothing: they are still to book.
"""

from __future__ import annotations

from dataclasses import dataclass

from clinic.models import HOLDING_STATUSES, Enrolment
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
