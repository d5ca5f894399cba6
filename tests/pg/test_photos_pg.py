"""Photos on PostgreSQL, with two app instances on one database (two app servers of a chain,
each with its own connections and memory): a photo uploaded through one is served by the
other, byte for byte, because the default photo store is the database."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask import g
from PIL import Image
from sqlalchemy import select

from clinic import create_app
from clinic.extensions import db
from clinic.models import Photo, StoredBlob
from clinic.services.clinical import photos
from clinic.services.courses import outcomes
from tests import clock
from tests import factories as f
from tests.clock import local

pytestmark = pytest.mark.pg


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (150, 100, 90)).save(out, "JPEG")
    return out.getvalue()


def test_two_app_instances_on_one_database_see_the_same_photo(app, pg_url: str) -> None:
    monday = clock.monday(-1)
    booked = f.make_booked_course(
        local(monday, 10),
        local(monday + timedelta(days=14), 10),
        course=dict(sessions=2),
        now=local(monday, 8),
    )
    first = booked.ids[0]
    outcomes.record_outcome(
        actor=booked.desk, appointment_id=first, status="done", note="", now=local(monday, 12)
    )
    photos.record_photo_consent(
        actor=booked.desk, client_id=booked.client.id, may_take=True, may_show_client=False
    )
    practitioner = f.make_user("practitioner", email=booked.practitioner.email)
    booked.practitioner.user_id = practitioner.id
    admin = f.make_user("admin")
    f.commit()

    one = app.test_client()
    with one.session_transaction() as session:
        f.log_in(session, practitioner.id)
    uploaded = one.post(
        f"/staff/appointments/{first}/photos",
        data={"photo": (io.BytesIO(_jpeg()), "photo.jpg"), "kind": "after"},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    photo = db.session.scalar(select(Photo))
    stored = db.session.scalar(select(StoredBlob.data).where(StoredBlob.key == photo.screen_key))
    g.pop("_login_user", None)

    # The admin's login, made here: both instances share the database and the secret key.
    with one.session_transaction() as session:
        f.log_in(session, admin.id)
    cookie = one.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    other = create_app("testing", SQLALCHEMY_DATABASE_URI=pg_url)
    two = other.test_client()
    two.set_cookie(cookie.key, cookie.value)
    try:
        served = two.get(f"/staff/photos/{photo.id}", buffered=True)
        served.close()  # the request's teardown returns its connection
    finally:
        with other.app_context():
            db.engine.dispose()

    assert served.status_code == 200
    assert served.get_data() == stored and stored
