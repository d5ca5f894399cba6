"""An appointment's care dates come from one place, whatever shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.services.courses import enrol
from clinic.services.courses.placing import SessionRequest
from clinic.services.world import aftercare
from tests import factories as f

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_aftercare_for_gives_the_courses_windows_in_the_clinics_time_zone(app) -> None:
    f.make_clinic()
    f.make_practitioner()
    course = f.make_course()
    client = f.make_client()
    start = datetime(2026, 12, 1, 10, tzinfo=BERLIN).astimezone(UTC)
    enrolment = enrol.book_course(
        actor=f.actor("receptionist"),
        course_code=course.code,
        client_id=client.id,
        sessions=[SessionRequest(start)],
        now=NOW,
    )
    appointment = enrolment.appointments[0]

    windows = aftercare.aftercare_for(appointment)

    assert {(w.code, w.phase) for w in windows} == {("no_uv", "after"), ("no_resurfacing", "after")}
    by_code = {w.code: w.window for w in windows}
    assert by_code["no_uv"].start == start
    assert by_code["no_uv"].end == start + timedelta(hours=168)
    assert by_code["no_resurfacing"].end == start + timedelta(hours=336)


def test_aftercare_for_keeps_a_retired_courses_care(app) -> None:
    f.make_clinic()
    f.make_practitioner()
    course = f.make_course()
    client = f.make_client()
    enrolment = enrol.book_course(
        actor=f.actor("receptionist"),
        course_code=course.code,
        client_id=client.id,
        sessions=[SessionRequest(datetime(2026, 12, 1, 9, tzinfo=UTC))],
        now=NOW,
    )
    before = aftercare.aftercare_for(enrolment.appointments[0])
    course.retired = True
    f.commit()

    assert aftercare.aftercare_for(enrolment.appointments[0]) == before
