"""Pages that change the world (hours, time off, holidays, devices, screening...): the one
way they ask before breaking booked sessions and say what they flagged (services/attention.py).

A form posts as usual; if the change would break booked sessions, the service saves nothing
and the page is shown again with the sessions listed (`templates/_world_change.html`, placed
inside the form) and a button that posts the same form with `confirm=1`.
"""

from __future__ import annotations

from flask import flash, request

from clinic.scheduling.wording import moment_text
from clinic.services.core.clinic_setup import clinic_tz
from clinic.services.lifetime.attention import WorldChange, describe


def confirmed() -> bool:
    """Whether the person saw the sessions the change breaks and saves it anyway (the
    button's `confirm=1`; a form's own box named `confirm`, the screening's, sends 'y')."""
    return "1" in request.form.getlist("confirm")


def flash_saved(change: WorldChange, done: str, *, staff: bool = True) -> None:
    """`done` ("Added the time off."), and what the change did to booked sessions."""
    n = len(change.broken)
    if not n:
        flash(done, "success")
    elif staff:
        verb = "is" if n == 1 else "are"
        flash(f"{done} {describe(change.broken)} {verb} now on the attention list.", "warning")
    else:
        sessions = "One of your booked sessions" if n == 1 else f"{n} of your booked sessions"
        verb = "no longer fits" if n == 1 else "no longer fit"
        flash(
            f"{done} {sessions} {verb} (see below); the clinic will offer you new dates.",
            "warning",
        )
        for b in change.broken:  # the client's own sessions, each with what it breaks
            when = moment_text(b.start.astimezone(clinic_tz()))
            why = " ".join(v.message for v in b.violations)
            flash(f"{b.course_name}, session {b.session}, {when}: {why}", "warning")
