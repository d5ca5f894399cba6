"""A client books a course that needs a patch test through the pages (issue 21): the proposal
starts with the test, another time for a session keeps it, and confirming books both."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, Enrolment
from tests import factories as f
from tests.clock import next_monday


@pytest.fixture
def me(clinic, login_as):
    f.make_patch_test(clinic.course.procedure, "peel_patch")
    user = login_as("client", name="Mia Me")
    user.client.screening_confirmed_at = datetime.now(UTC)
    f.commit()
    return user.client


def _stamp(value: str) -> datetime:
    return datetime.strptime(value.split("-")[0], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)


def test_the_proposal_starts_with_the_patch_test_and_confirming_books_both(app, client, me) -> None:
    planned = client.post(
        "/courses/peel_course/plan",
        data={"earliest": next_monday().isoformat(), "practitioner": "0", "how_many": "all"},
    )
    assert planned.status_code == 302, planned.text
    page = client.get(planned.headers["Location"]).text
    assert "First, a patch test" in page
    sessions = re.findall(r'name="s" value="([^"]+)"', page)
    (test,) = re.findall(r'name="t" value="([^"]+)"', page)
    assert timedelta(hours=48) <= _stamp(sessions[0]) - _stamp(test) <= timedelta(days=90)

    # Another time for session 2 keeps the test in the proposal.
    swap = re.search(r'href="(/courses/peel_course/swap\?[^"]*k=2[^"]*)"', page)
    assert swap is not None
    assert "t=" in swap.group(1).replace("&amp;", "&")

    booked = client.post("/courses/peel_course/book", data={"s": sessions, "t": test})
    assert booked.status_code == 302, booked.text
    starts = sorted(a.start_at for a in db.session.scalars(select(Appointment)))
    assert starts[0] == _stamp(test).replace(tzinfo=starts[0].tzinfo)
    assert len(starts) == len(sessions) + 1
    assert len(db.session.scalars(select(Enrolment)).all()) == 2


def test_confirming_without_the_patch_test_is_refused_and_books_nothing(app, client, me) -> None:
    planned = client.post(
        "/courses/peel_course/plan",
        data={"earliest": next_monday().isoformat(), "practitioner": "0", "how_many": "all"},
    )
    page = client.get(planned.headers["Location"]).text
    sessions = re.findall(r'name="s" value="([^"]+)"', page)
    refused = client.post("/courses/peel_course/book", data={"s": sessions})
    assert refused.status_code == 422
    assert "needs a patch test" in refused.text
    assert db.session.scalar(select(Appointment.id)) is None


def test_staff_record_a_reaction_to_a_held_patch_test_and_its_course_is_flagged(
    app, client, me, login_as
) -> None:
    planned = client.post(
        "/courses/peel_course/plan",
        data={"earliest": next_monday().isoformat(), "practitioner": "0", "how_many": "all"},
    )
    page = client.get(planned.headers["Location"]).text
    sessions = re.findall(r'name="s" value="([^"]+)"', page)
    (test,) = re.findall(r'name="t" value="([^"]+)"', page)
    assert (
        client.post("/courses/peel_course/book", data={"s": sessions, "t": test}).status_code == 302
    )
    held = db.session.scalar(select(Appointment).order_by(Appointment.start_at))
    held.status = "done"  # the test took place
    f.commit()

    login_as("receptionist")
    shown = client.get(f"/staff/appointments/{held.id}")
    assert "Patch test result" in shown.text
    empty = client.post(f"/staff/appointments/{held.id}/reaction", data={"note": ""})
    assert empty.status_code == 422
    assert "Say what the skin showed" in empty.text
    saved = client.post(
        f"/staff/appointments/{held.id}/reaction", data={"note": "Redness for two days"}
    )
    assert saved.status_code == 302
    assert "The skin reacted: Redness for two days" in client.get(saved.headers["Location"]).text
    flagged = set(db.session.scalars(select(AttentionFlag.appointment_id)))
    course_sessions = set(
        db.session.scalars(select(Appointment.id).where(Appointment.id != held.id))
    )
    assert flagged == course_sessions


def test_reception_books_the_course_with_the_patch_test_it_proposes(
    app, client, me, clinic, login_as
) -> None:
    login_as("receptionist")
    base = {
        "client": me.id,
        "course": "peel_course",
        "earliest": next_monday().isoformat(),
        "what": "course",
        "practitioner": 0,
    }
    page = client.post("/staff/book", data=base | {"propose": "Propose sessions"}).text
    assert "First, a patch test" in page
    fields = dict(
        re.findall(r'name="((?:sessions|patch_test)-\d+-(?:day|time))"[^>]*value="([^"]*)"', page)
    )
    assert "patch_test-0-day" in fields and "sessions-5-day" in fields
    practitioners = {f"{k.rsplit('-', 1)[0]}-practitioner": "0" for k in fields}
    booked = client.post(
        "/staff/book", data=base | fields | practitioners | {"book": "Book these sessions"}
    )
    assert booked.status_code == 302, booked.text
    assert len(db.session.scalars(select(Appointment)).all()) == 7
    assert len(db.session.scalars(select(Enrolment)).all()) == 2
