"""What the staff's and the client's photo pages share: the two sessions a course's page puts
side by side, and the caching headers of a photo (health data: never kept by a browser or a
proxy)."""

from __future__ import annotations

from typing import Any

from flask import request

from clinic.services.clinical import records

NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}


def side_by_side(sessions: list[records.CourseSession]) -> tuple[Any, Any]:
    """The two sessions the page compares (`left`, `right`: session numbers), by default the
    first and the last with photos."""
    by_number = {s.appointment.session: s for s in sessions}
    if not sessions:
        return None, None
    left = by_number.get(request.args.get("left", type=int) or 0, sessions[0])
    right = by_number.get(request.args.get("right", type=int) or 0, sessions[-1])
    return left, right
