"""A proposal of sessions as the client's and the staff's pages carry and show it: each session
in a hidden field ("20261201T0900Z-3" = a start in UTC and a practitioner), and the rows a
proposal page lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from clinic.scheduling import describe_window
from clinic.services.core import clinic_setup, date_range
from clinic.services.core.errors import InvalidRequest
from clinic.services.courses.course_rest import EnrolmentState
from clinic.services.courses.placing import SessionRequest
from clinic.services.people import booking_choices
from clinic.services.world.aftercare import care_windows

PROPOSAL_STAMP = "%Y%m%dT%H%MZ"


def encode_proposal(start: datetime, practitioner_id: int | None) -> str:
    return f"{start.astimezone(UTC):{PROPOSAL_STAMP}}-{practitioner_id or 0}"


def decode_proposals(values: list[str]) -> list[SessionRequest]:
    requests = []
    for value in values:
        stamp, _, practitioner_text = value.partition("-")
        try:
            start = datetime.strptime(stamp, PROPOSAL_STAMP).replace(tzinfo=UTC)
            practitioner = int(practitioner_text or 0)
        except ValueError:
            raise InvalidRequest("The proposed times were garbled; please plan again.") from None
        far = date_range.bookable_moment_problem(start)
        if far is not None:
            raise InvalidRequest(f"{far.message} Please plan again.")
        requests.append(SessionRequest(start, practitioner or None))
    if not requests or len(requests) > 30:
        raise InvalidRequest("There are no proposed times; please plan again.")
    return requests


def proposal_rows(
    state: EnrolmentState, requests: Sequence[SessionRequest], now: datetime
) -> list[dict[str, Any]]:
    """The proposed sessions as the proposal pages show them: number, start, practitioner
    and care dates (a pre-care already begun told without its past date, rule 11)."""
    tz = clinic_setup.clinic_tz()
    names = {
        p.id: p.name for p in booking_choices.practitioner_choices(state.enrolment.course.code)
    }
    return [
        {
            "number": state.next_session + i,
            "start": r.start,
            "practitioner": names.get(r.practitioner_id or 0, "Any practitioner"),
            "windows": (windows := care_windows(state.course, r.start)),
            "care": [describe_window(w, tz, now) for w in windows],
        }
        for i, r in enumerate(requests)
    ]


def rest_count(value: str | None) -> int | None:
    """`count=1` asks for the next session; anything else for all that remain."""
    return 1 if value == "1" else None
