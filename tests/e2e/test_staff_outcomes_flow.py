"""Reception in a real browser marks a session that has started as a no-show from the week
calendar, and the week shows it; the client is told about the make-up."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment, OutboxMessage
from tests import clock
from tests import factories as f
from tests.clock import local
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e
PASSWORD = "staff password 1"


def test_reception_marks_a_no_show_from_the_week_calendar(live_server, tablet) -> None:
    monday = clock.monday(-1)
    start = local(monday, 10)
    with live_server.seed():
        f.make_booked_course(
            start.astimezone(UTC),
            practitioner=dict(name="Clara Cosmo"),
            client=dict(name="Anna Client", email="anna@example.com"),
            now=(start - timedelta(days=1)).astimezone(UTC),
        )
        f.make_user("receptionist", email="desk@clinic.example", password=PASSWORD)
    base, page = live_server.url, tablet
    log_in(page, base, "desk@clinic.example", PASSWORD)
    page.goto(f"{base}/staff/calendar?day={monday}&view=week")
    page.get_by_role("button", name="Mark 10:00 Anna Client a no-show").click()
    page.wait_for_url(f"**/staff/calendar?day={monday}&view=week*")
    assert page.get_by_text("marked a no-show", exact=False).first.is_visible()
    assert page.get_by_text("1/6 · buffer to 11:00 · no-show", exact=False).is_visible()
    assert page.get_by_role("button", name="Mark 10:00 Anna Client done").count() == 0
    with live_server.seed():
        assert db.session.scalar(select(Appointment.status)) == "no_show"
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "missed_session")
        )
        assert message is not None and f"{base}/my/sessions" in message.body
