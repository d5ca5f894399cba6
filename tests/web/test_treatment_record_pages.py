"""The treatment record's pages: recording and signing a held session, photos from a phone or
the desk (content checked, size limited, no EXIF), served with no-store headers to who may see
them, side by side for the client, and pushing a course after a severe reaction."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask import g
from PIL import ExifTags, Image
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, ClinicSettings, Photo, TreatmentRecord
from clinic.services.clinical import photos
from clinic.services.courses import outcomes
from tests import clock
from tests import factories as f
from tests.clock import local
from tests.web.conftest import quick_user


def switch(login_as, role: str, **overrides):
    """Log in as another user: the tests share an app context, where Flask-Login keeps the
    user it loaded (`g._login_user`)."""
    g.pop("_login_user", None)
    return login_as(role, **overrides)


def switch_to_client(client, user_id: int) -> None:
    g.pop("_login_user", None)
    with client.session_transaction() as session:
        f.log_in(session, user_id)


def jpeg(size=(2000, 1500), *, gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (180, 110, 90))
    exif = Image.Exif()
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def held(clinic):
    """Session 1 last Monday, marked done; sessions 2 and 3 to come; photo consent given."""
    monday = clock.monday(-1)
    enrolment = clinic.book(
        local(monday, 10),
        local(monday + timedelta(days=14), 10),
        local(monday + timedelta(days=28), 10),
        now=local(monday, 8),
    )
    first, second, third = sorted(enrolment.appointments, key=lambda a: a.session)
    outcomes.record_outcome(
        actor=clinic.desk, appointment_id=first.id, status="done", note="", now=local(monday, 12)
    )
    photos.record_photo_consent(
        actor=clinic.desk, client_id=clinic.client.id, may_take=True, may_show_client=True
    )
    return {"clinic": clinic, "ids": (first.id, second.id, third.id), "enrolment": enrolment.id}


def as_practitioner(login_as, held):
    return login_as("practitioner", practitioner=held["clinic"].practitioner)


def record_url(held) -> str:
    return f"/staff/appointments/{held['ids'][0]}/record"


def upload(client, held, data: bytes, name: str = "photo.jpg"):
    return client.post(
        f"/staff/appointments/{held['ids'][0]}/photos",
        data={"photo": (io.BytesIO(data), name), "kind": "before"},
        content_type="multipart/form-data",
    )


def test_the_practitioner_records_signs_and_amends_a_held_session(client, login_as, held) -> None:
    as_practitioner(login_as, held)
    page = client.get(record_url(held)).get_data(as_text=True)
    assert 'name="t_acid"' in page and 'capture="environment"' in page

    form = {
        "t_acid": "glycolic",
        "t_concentration": "35",
        "areas": "Face",
        "products": "Glycolic 35%, LOT-1",
        "reaction": "1",
        "sign": "Sign off",
    }
    assert client.post(record_url(held), data=form).status_code == 302
    assert client.post(record_url(held), data=form | {"notes": "Amended."}).status_code == 302

    entries = db.session.scalars(select(TreatmentRecord).order_by(TreatmentRecord.id)).all()
    assert [(e.status, e.notes) for e in entries] == [("signed", ""), ("signed", "Amended.")]
    assert entries[1].amends_id == entries[0].id
    assert "amends the entry signed before it" in client.get(record_url(held)).get_data(
        as_text=True
    )


def test_bad_values_are_shown_next_to_their_fields(client, login_as, held) -> None:
    as_practitioner(login_as, held)
    shape = client.post(record_url(held), data={"products": "Glycolic 35%", "sign": "Sign off"})
    form = {"t_concentration": "very strong", "sign": "Sign off"}

    response = client.post(record_url(held), data=form)

    assert shape.status_code == 422
    assert 'id="products-error"' in shape.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="t_concentration-error"' in html and "give a number" in html
    assert 'id="reaction-error"' in html or "Grade the skin" in html
    assert db.session.scalar(select(func.count()).select_from(TreatmentRecord)) == 0


def test_a_non_image_renamed_jpg_is_refused_next_to_the_field(client, login_as, held) -> None:
    as_practitioner(login_as, held)

    response = upload(client, held, b"MZ\x90\x00 this is a program, not a photo" * 50)

    assert response.status_code == 422
    assert 'id="photo-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


def test_an_oversized_image_is_refused_with_the_limit_said(client, login_as, held, app) -> None:
    as_practitioner(login_as, held)
    app.config["PHOTO_MAX_BYTES"] = 100 * 1024
    try:
        response = upload(client, held, jpeg() + b"\0" * 120 * 1024)
    finally:
        app.config["PHOTO_MAX_BYTES"] = 12 * 1024 * 1024

    assert response.status_code == 422
    assert "photos may be at most 100 KB" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


def test_a_photo_is_served_without_gps_and_never_cached(client, login_as, held) -> None:
    as_practitioner(login_as, held)
    assert upload(client, held, jpeg(gps=True)).status_code == 302
    photo = db.session.scalar(select(Photo))

    response = client.get(f"/staff/photos/{photo.id}")

    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert "no-store" in response.headers["Cache-Control"]
    with Image.open(io.BytesIO(response.get_data())) as image:
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("receptionist", 403), ("other practitioner", 404), ("client", 403)],
)
def test_who_may_see_a_photo_when_role(client, login_as, held, role, status) -> None:
    as_practitioner(login_as, held)
    upload(client, held, jpeg())
    photo = db.session.scalar(select(Photo))
    switch(login_as, "practitioner" if role == "other practitioner" else role)

    assert client.get(f"/staff/photos/{photo.id}").status_code == status


def test_the_client_sees_their_photos_side_by_side_when_the_clinic_allows(
    client, login_as, held
) -> None:
    as_practitioner(login_as, held)
    upload(client, held, jpeg())
    photo = db.session.scalar(select(Photo))
    clinic = held["clinic"]
    switch_to_client(client, clinic.client.user_id)
    compare = f"/my/enrolments/{held['enrolment']}/photos"
    assert client.get(compare).status_code == 404  # the clinic's policy: not shown

    db.session.scalar(select(ClinicSettings)).photos_shown_to_clients = True
    f.commit()
    html = client.get(compare).get_data(as_text=True)
    assert f"/my/photos/{photo.id}?size=screen" in html
    assert "Session 1" in html
    assert client.get(f"/my/photos/{photo.id}").headers["Cache-Control"].startswith("no-store")
    switch_to_client(client, quick_user("client").id)
    assert client.get(f"/my/photos/{photo.id}").status_code == 404


def test_a_reaction_of_3_is_pushed_from_the_attention_list(client, login_as, held) -> None:
    as_practitioner(login_as, held)
    form = {"t_acid": "glycolic", "reaction": "3", "sign": "Sign off"}
    client.post(record_url(held), data=form)
    assert db.session.get(AttentionFlag, held["ids"][1]) is not None
    switch(login_as, "receptionist")
    html = client.get("/staff/attention").get_data(as_text=True)
    assert "Push the rest of the course" in html
    before = {
        a.id: a.start_at
        for a in db.session.scalars(select(Appointment).where(Appointment.id.in_(held["ids"])))
    }

    response = client.post(f"/staff/enrolments/{held['enrolment']}/push", data={"days": "7"})

    assert response.status_code == 302
    db.session.expire_all()
    for i in held["ids"][1:]:
        assert db.session.get(Appointment, i).start_at == before[i] + timedelta(days=7)
    assert db.session.get(AttentionFlag, held["ids"][1]) is None
