"""Issue 21 in a real browser on a desk computer: a practitioner records a held session of a peel
course with two photos taken at the desk, signs the entry off, and sees the photos beside
those of the next session on the course's side-by-side page."""

from __future__ import annotations

import io
import re
from datetime import UTC, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Photo, TreatmentRecord
from clinic.services.clinical import photos
from clinic.services.core.actors import actor_for
from clinic.services.courses import outcomes
from tests import clock
from tests import factories as f
from tests.clock import local
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.e2e
PASSWORD = "practitioner password 1"


def jpeg(colour: tuple[int, int, int]) -> bytes:
    """A small photo as a phone or a desk camera would send it."""
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, "JPEG")
    return out.getvalue()


def shown(page, image) -> None:  # type: ignore[no-untyped-def]
    """Wait until the browser has loaded and decoded the image (a broken one never gets a
    width, and the wait fails)."""
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=image.element_handle())


def test_a_practitioner_records_a_session_with_photos_and_compares_them(
    live_server, desktop
) -> None:
    # Sessions 1 and 2 of a peel course were held; session 2 has its photos already.
    first_day = clock.monday(-4)
    starts = [local(first_day + timedelta(days=14 * n), 10) for n in range(3)]
    with live_server.seed():
        booked = f.make_booked_course(
            *(s.astimezone(UTC) for s in starts),
            practitioner=dict(name="Dana Derm"),
            client=dict(name="Anna Client", email="anna@example.com"),
            now=(starts[0] - timedelta(days=1)).astimezone(UTC),
        )
        user = f.make_user(
            "practitioner", name="Dana Derm", email="dana@clinic.example", password=PASSWORD
        )
        booked.practitioner.user_id = user.id
        f.commit()
        first, second, _ = sorted(booked.enrolment.appointments, key=lambda a: a.session)
        first_id, second_id, enrolment_id = first.id, second.id, booked.enrolment.id
        for held, start in ((first, starts[0]), (second, starts[1])):
            outcomes.record_outcome(
                actor=booked.desk,
                appointment_id=held.id,
                status="done",
                now=(start + timedelta(hours=2)).astimezone(UTC),
            )
        photos.record_photo_consent(
            actor=booked.desk, client_id=booked.client.id, may_take=True, may_show_client=False
        )
        dana = actor_for(user)
        for kind, colour in (("before", (200, 150, 140)), ("after", (215, 120, 110))):
            photos.add_photo(actor=dana, appointment_id=second_id, kind=kind, data=jpeg(colour))

    base, page = live_server.url, desktop
    log_in(page, base, "dana@clinic.example", PASSWORD)
    page.goto(f"{base}/staff/appointments/{first_id}/record")
    assert page.get_by_role("heading", name="Record this session").is_visible()
    assert page.get_by_text("No photos of this session.").is_visible()

    # Two photos from the desk: before and after.
    for kind, colour in (("Before", (170, 110, 95)), ("After", (210, 90, 80))):
        page.get_by_label("Photo", exact=True).set_input_files(
            files=[{"name": f"{kind}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(colour)}]
        )
        page.get_by_label("Before or after the session").select_option(label=kind)
        page.get_by_role("button", name="Add the photo").click()
        page.wait_for_url(re.compile(rf"/staff/appointments/{first_id}/record$"))
        assert page.get_by_text("Photo added.").is_visible()
    thumbs = page.get_by_role("img", name=re.compile(r"photo of session 1"))
    assert thumbs.count() == 2
    for thumb in thumbs.all():
        shown(page, thumb)

    # The entry from the peel's template, signed off.
    page.get_by_label("Acid").fill("Glycolic")
    page.get_by_label("Concentration (%)").fill("35")
    page.get_by_label("Exposure time (min)").fill("3")
    page.get_by_label("Areas treated").fill("Forehead, cheeks")
    page.get_by_label("Products used, one a line: name, batch number").fill(
        "Glycolic 35%, LOT-2211"
    )
    page.get_by_label("1 - mild (slight redness)").check()
    page.get_by_label("Notes").fill("Even frosting, no discomfort.")
    screenshot(page, "record-01-filled")
    page.get_by_role("button", name="Sign off").click()
    page.wait_for_url(re.compile(rf"/staff/appointments/{first_id}/record$"))
    assert page.get_by_text("The entry is signed off").is_visible()
    assert page.get_by_role("heading", name=re.compile(r"^Signed off .* by Dana Derm")).is_visible()
    assert page.get_by_role("heading", name="Amend the signed entry (a new entry)").is_visible()
    assert page.get_by_text("Glycolic 35% (batch LOT-2211)").is_visible()
    screenshot(page, "record-02-signed")

    # Session 1 beside session 2.
    page.get_by_role("link", name="Photos of the course side by side").click()
    page.wait_for_url(re.compile(rf"/staff/enrolments/{enrolment_id}/photos"))
    left = page.get_by_role("region", name="Session 1")
    right = page.get_by_role("region", name="Session 2")
    for side, number in ((left, 1), (right, 2)):
        names = side.get_by_role("img").evaluate_all("images => images.map(i => i.alt)")
        assert names == [
            f"Before photo of session {number}",
            f"After photo of session {number}",
        ]
    for image in page.get_by_role("img").all():
        image.scroll_into_view_if_needed()
        shown(page, image)
    left_box, right_box = left.bounding_box(), right.bounding_box()
    assert left_box is not None and right_box is not None
    assert left_box["x"] + left_box["width"] <= right_box["x"], "not side by side"
    assert abs(left_box["y"] - right_box["y"]) < 1
    screenshot(page, "record-03-side-by-side")

    with live_server.seed():
        [entry] = db.session.scalars(select(TreatmentRecord)).all()
        assert (entry.appointment_id, entry.status, entry.reaction) == (first_id, "signed", 1)
        kinds = db.session.scalars(
            select(Photo.kind).where(Photo.appointment_id == first_id).order_by(Photo.id)
        ).all()
        assert kinds == ["before", "after"]
