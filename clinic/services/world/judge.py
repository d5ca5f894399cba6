"""One judge of a booked session: does it still hold where it is booked? (DOMAIN.md "A course
over its lifetime", "Changes of the world".)

A session booked earlier is judged again when the world changes (services/lifetime/attention),
when its flag is cleared (accepting a re-plan), when its enrolment moves to the current rules
(lifetime/rules_as_booked) and when a move of an earlier session may push it out of the rules
(courses/moves). Each asks the same question, so each asks it here:

- with the checker the bookings use (`check_course`), as staff, for the session where it is
  (its own old place freed, the enrolment's other sessions fixed);
- with the session's own override: a session booked with a staff override reason breaks no soft
  rule (rule 3), as it did not when it was booked;
- its pre-care taken as kept (the client has kept it since they booked it, rule 11);
- with what staff may book past (a consent not signed for its date): booked, it breaks that
  rule all the same, and waits on the attention list until it holds;
- and with its own practitioner, device and room: the checker would pick any free device and
  room, but a booked session holds the ones it was given, so one out of use breaks it.
"""

from __future__ import annotations

from datetime import datetime

from clinic.models import Appointment
from clinic.scheduling import (
    ClientState,
    CourseRules,
    ProposedSession,
    Snapshot,
    Violation,
    check_course,
)
from clinic.services.world.aftercare import enrolment_rules


def as_booked(
    a: Appointment,
    *,
    snapshot: Snapshot,
    client: ClientState,
    now: datetime,
    course: CourseRules | None = None,
    waiting: bool = True,
) -> tuple[Violation, ...]:
    """The rules the booked session `a` breaks where it is (none: it holds). `client` is the
    client's state as it should be judged (the caller may have changed it: a neighbour moved,
    the enrolment under other rules); `course` the rules to judge by (default: the ones its
    enrolment keeps). `waiting` False leaves out what staff booked it past (a consent not
    signed): a caller asking what a change of its neighbours or rules breaks, which that
    change does not cause."""
    result = check_course(
        snapshot=snapshot,
        course=course or enrolment_rules(a.enrolment),
        client=client,
        proposals=[ProposedSession(a.session, a.start_at, a.practitioner_id)],
        now=now,
        enrolment_id=a.enrolment_id,
        replacing=frozenset({a.id}),
        by_staff=True,
        override_soft=bool(a.override_reason),
        precare_confirmed=True,
    )
    return result.violations + (result.flags if waiting else ()) + resources_gone(snapshot, a)


def resources_gone(snapshot: Snapshot, a: Appointment) -> tuple[Violation, ...]:
    """The checker picks any free device and room; a booked session also needs its own."""
    gone: list[Violation] = []
    if a.device_id is not None and all(d.id != a.device_id for d in snapshot.devices):
        name = a.device.name if a.device is not None else "device"
        gone.append(
            Violation(
                "device_unavailable",
                f"The {name} booked for this session is out of service.",
                a.session,
            )
        )
    if all(r.id != a.room_id for r in snapshot.rooms):
        gone.append(
            Violation(
                "room_unavailable",
                f"{a.room.name} booked for this session is out of use.",
                a.session,
            )
        )
    return tuple(gone)
