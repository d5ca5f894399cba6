"""Treatment records, photos and photo consent in the API (issue 21): each operation, who may
do it, its errors (400 shape, 403, 404, 409 a signed entry, 413 a photo too large, 422 a rule),
photos checked and cleaned as on the page, and the audit of every showing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import AuditEntry, ClinicSettings, Photo, StoredBlob, TreatmentRecord
from clinic.services.clinical import photos
from clinic.services.courses import enrol, outcomes
from clinic.services.courses.placing import SessionRequest
from tests import factories as f
from tests.api.conftest import Api
from tests.clock import BERLIN, monday

ENTRY = {
    "values": {"acid": "glycolic", "concentration": 35, "exposure": "3"},
    "areas": "Face, neck",
    "products": [{"name": "Glycolic 35%", "batch": "LOT-2211"}],
    "reaction": 1,
    "notes": "Even erythema.",
}


def jpeg(size: tuple[int, int] = (2400, 1800), *, gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 120, 100))
    exif = Image.Exif()
    if gps:
        exif[0x010F] = "PhoneMaker"
        exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def held(clinic):
    """Carla's peel course with Anna: session 1 two weeks ago, marked done; sessions 2 and 3
    to come."""
    starts = [
        datetime.combine(monday(w), datetime.min.time(), BERLIN) + timedelta(hours=10)
        for w in (-2, 1, 4)
    ]
    desk = f.actor("receptionist")
    enrolment = enrol.book_course(
        actor=desk,
        course_code="peel_course",
        client_id=clinic["client"].id,
        sessions=[SessionRequest(s.astimezone(UTC)) for s in starts],
        now=starts[0] - timedelta(days=2),
    )
    ids = [a.id for a in sorted(enrolment.appointments, key=lambda a: a.session)]
    outcomes.record_outcome(actor=desk, appointment_id=ids[0], status="done", note="")
    return {"ids": ids, "enrolment": enrolment.id, "desk": desk, "client": clinic["client"]}


@pytest.fixture
def consented(held):
    photos.record_photo_consent(
        actor=held["desk"], client_id=held["client"].id, may_take=True, may_show_client=True
    )
    return held


def show_photos_to_clients(shown: bool) -> None:
    settings = db.session.scalar(select(ClinicSettings))
    settings.photos_shown_to_clients = shown
    f.commit()


def records_url(held, session: int = 0) -> str:
    return f"/appointments/{held['ids'][session]}/records"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def upload(api: Api, held, data: bytes, kind: str = "before", name: str = "photo.jpg"):
    return api.http.post(
        f"/api/v1/appointments/{held['ids'][0]}/photos",
        headers=api.headers(),
        data={"photo": (io.BytesIO(data), name), "kind": kind},
        content_type="multipart/form-data",
    )


def another_practitioner(client) -> Api:
    """A practitioner who does not treat Carla."""
    user = f.make_user("practitioner", email="bert@clinic.example")
    f.make_practitioner(email=user.email, name="Bert", user_id=user.id)
    return Api(client, f.make_token(user.id))


def audit_rows(action: str = "view_screening") -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


# --- records --------------------------------------------------------------------------------


def test_the_practitioner_records_a_draft_edits_it_and_signs_it_off(api_as, clinic, held) -> None:
    api = api_as("practitioner")
    author = clinic["practitioner_user"].name

    created = api.post(records_url(held), ENTRY)
    draft = created.json
    edited = api.patch(f"{records_url(held)}/{draft['id']}", {"notes": "Calmer after 10 min."})
    signed = api.post(f"{records_url(held)}/{draft['id']}/sign")
    history = api.get(records_url(held))

    assert created.status_code == 201, created.json
    assert draft["status"] == "draft" and draft["created_by"] == author
    assert draft["values"] == {"acid": "glycolic", "concentration": "35", "exposure": "3"}
    assert [t["code"] for t in draft["template"]] == ["acid", "concentration", "exposure"]
    assert edited.status_code == 200, edited.json
    assert edited.json["notes"] == "Calmer after 10 min."
    assert edited.json["products"] == ENTRY["products"] and edited.json["reaction"] == 1
    assert signed.status_code == 200, signed.json
    assert signed.json["status"] == "signed" and signed.json["signed_by"] == author
    assert signed.json["notes"] == "Calmer after 10 min."
    assert history.status_code == 200
    body = history.json
    assert [e["id"] for e in body["entries"]] == [draft["id"]]
    assert body["entries"][0] == signed.json
    assert (body["current"], body["draft"], body["can_write"]) == (draft["id"], None, True)
    assert body["template"] == draft["template"] and body["client"] == held["client"].id


def test_a_signed_entry_is_not_editable_and_a_new_entry_amends_it(api_as, held) -> None:
    api = api_as("practitioner")
    first = api.post(records_url(held), {**ENTRY, "sign": True}).json

    edit = api.patch(f"{records_url(held)}/{first['id']}", {"notes": "Changed."})
    sign = api.post(f"{records_url(held)}/{first['id']}/sign")
    amendment = api.post(records_url(held), {**ENTRY, "notes": "Batch corrected.", "sign": True})

    assert (edit.status_code, edit.json["errors"][0]["code"]) == (409, "record_signed")
    assert (sign.status_code, sign.json["errors"][0]["code"]) == (409, "record_signed")
    assert amendment.status_code == 201 and amendment.json["amends"] == first["id"]
    db.session.expire_all()
    assert db.session.get(TreatmentRecord, first["id"]).notes == "Even erythema."
    history = api.get(records_url(held)).json
    assert [e["id"] for e in history["entries"]] == [first["id"], amendment.json["id"]]
    assert history["current"] == amendment.json["id"]


def test_a_second_draft_is_refused_while_one_waits(api_as, held) -> None:
    api = api_as("practitioner")
    api.post(records_url(held), ENTRY)

    again = api.post(records_url(held), {**ENTRY, "notes": "Another."})

    assert (again.status_code, again.json["errors"][0]["code"]) == (409, "draft_exists")
    assert count(TreatmentRecord) == 1


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({**ENTRY, "reaction": 5}, 400, "invalid_field", "reaction"),
        ({**ENTRY, "reaction": "1"}, 400, "invalid_field", "reaction"),
        ({**ENTRY, "colour": "red"}, 400, "invalid_field", "colour"),
        ({**ENTRY, "products": [{"name": "Glycolic"}]}, 400, "invalid_field", "products.0.batch"),
        ({**ENTRY, "values": {"concentration": "a lot"}}, 422, "invalid_record", "concentration"),
        ({**ENTRY, "values": {"fluence": "12"}}, 422, "invalid_record", "fluence"),
        ({**ENTRY, "reaction": None, "sign": True}, 422, "invalid_record", "reaction"),
    ],
)
def test_a_malformed_entry_is_400_and_a_refused_value_422_writing_nothing(
    api_as, held, body, status, code, field
) -> None:
    answer = api_as("practitioner").post(records_url(held), body)

    assert answer.status_code == status, answer.json
    assert (answer.json["errors"][0]["code"], answer.json["errors"][0]["field"]) == (code, field)
    assert count(TreatmentRecord) == 0


def test_a_session_not_yet_held_gets_no_record_422(api_as, held) -> None:
    answer = api_as("practitioner").post(records_url(held, 1), ENTRY)

    assert answer.status_code == 422
    assert answer.json["errors"][0]["code"] == "not_held"
    assert count(TreatmentRecord) == 0


def test_signing_a_draft_without_the_reaction_is_422_and_keeps_it_a_draft(api_as, held) -> None:
    api = api_as("practitioner")
    draft = api.post(records_url(held), {**ENTRY, "reaction": None}).json

    answer = api.post(f"{records_url(held)}/{draft['id']}/sign")

    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "reaction"
    assert db.session.get(TreatmentRecord, draft["id"]).status == "draft"


def test_an_unknown_entry_or_session_is_404(api_as, held) -> None:
    api = api_as("practitioner")
    draft = api.post(records_url(held), ENTRY).json

    assert api.patch(f"{records_url(held)}/999999", {"notes": "x"}).status_code == 404
    assert api.post(f"/appointments/999999/records/{draft['id']}/sign").status_code == 404


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        ("practitioner", 200, 201),
        ("admin", 200, 403),
        ("receptionist", 403, 403),
        ("client", 403, 403),
        ("other practitioner", 404, 403),
    ],
)
def test_who_reads_and_writes_a_record(client, api_as, held, role, read, write) -> None:
    api = another_practitioner(client) if role == "other practitioner" else api_as(role)

    assert api.get(records_url(held)).status_code == read
    assert api.post(records_url(held), ENTRY).status_code == write


def test_a_draft_is_shown_only_to_its_author(api_as, held) -> None:
    draft = api_as("practitioner").post(records_url(held), ENTRY).json

    mine = api_as("practitioner").get(records_url(held)).json
    admins = api_as("admin").get(records_url(held)).json

    assert [e["id"] for e in mine["entries"]] == [draft["id"]] and mine["draft"] == draft["id"]
    assert admins["entries"] == [] and admins["draft"] is None
    assert admins["can_write"] is False


# --- photos -------------------------------------------------------------------------------------


def test_a_photo_is_uploaded_listed_and_served_without_gps(api_as, consented) -> None:
    api = api_as("practitioner")

    added = upload(api, consented, jpeg(gps=True), kind="after")
    listed = api.get(records_url(consented)).json["photos"]
    image = api.get(f"/photos/{added.json['id']}")
    thumb = api.get(f"/photos/{added.json['id']}/thumbnail")

    assert added.status_code == 201, added.json
    assert added.json["kind"] == "after" and added.json["width"] == photos.SCREEN_PX
    assert listed == [added.json]
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert "no-store" in image.headers["Cache-Control"]
    with Image.open(io.BytesIO(image.data)) as read:
        exif = read.getexif()
        assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {} and 0x010F not in exif
        assert "exif" not in read.info
        assert max(read.size) == photos.SCREEN_PX
    assert thumb.status_code == 200 and "no-store" in thumb.headers["Cache-Control"]
    with Image.open(io.BytesIO(thumb.data)) as read:
        assert max(read.size) == photos.THUMB_PX


def test_a_file_that_is_not_an_image_is_refused_400(api_as, consented) -> None:
    fake = b"%PDF-1.4 not a photo at all, renamed to photo.jpg" * 20

    answer = upload(api_as("practitioner"), consented, fake, name="photo.jpg")

    assert answer.status_code == 400
    assert answer.json["errors"][0] | {"message": ""} == {
        "code": "not_an_image",
        "field": "photo",
        "message": "",
    }
    assert count(Photo) == 0 and count(StoredBlob) == 0


@pytest.mark.parametrize("padding", [60_000, 200_000])
def test_an_oversized_photo_is_refused_413_too_large(app, api_as, consented, padding) -> None:
    # Up to twice the limit the service reads it and says the limit; beyond, the body is
    # refused before it is read. Both are 413 `too_large`.
    app.config["PHOTO_MAX_BYTES"] = 50_000
    try:
        answer = upload(api_as("practitioner"), consented, jpeg((600, 400)) + b"\0" * padding)
    finally:
        app.config["PHOTO_MAX_BYTES"] = 12 * 1024 * 1024

    assert answer.status_code == 413
    assert answer.json["errors"][0]["code"] == "too_large"
    if padding == 60_000:
        assert "at most 49 KB" in answer.json["errors"][0]["message"]
    assert count(Photo) == 0 and count(StoredBlob) == 0


def test_a_photo_without_the_clients_consent_is_refused_403(api_as, held) -> None:
    answer = upload(api_as("practitioner"), held, jpeg())

    assert answer.status_code == 403
    assert answer.json["errors"][0]["code"] == "photo_consent_missing"
    assert count(Photo) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({"kind": "during"}, "kind"), ({"kind": "before", "photo": None}, "photo")],
)
def test_a_malformed_upload_is_400(api_as, consented, body, field) -> None:
    api = api_as("practitioner")
    data = {"photo": (io.BytesIO(jpeg()), "photo.jpg"), **body}
    if data["photo"] is None:
        del data["photo"]

    answer = api.http.post(
        f"/api/v1/appointments/{consented['ids'][0]}/photos",
        headers=api.headers(),
        data=data,
        content_type="multipart/form-data",
    )

    assert answer.status_code == 400 and answer.json["errors"][0]["field"] == field
    assert count(Photo) == 0


@pytest.mark.parametrize(("role", "status"), [("admin", 403), ("receptionist", 403)])
def test_only_the_practitioner_of_the_session_uploads(api_as, consented, role, status) -> None:
    assert upload(api_as(role), consented, jpeg()).status_code == status
    assert count(Photo) == 0


def test_no_photo_before_the_session_has_begun_422(api_as, consented) -> None:
    api = api_as("practitioner")
    answer = api.http.post(
        f"/api/v1/appointments/{consented['ids'][1]}/photos",
        headers=api.headers(),
        data={"photo": (io.BytesIO(jpeg()), "photo.jpg"), "kind": "before"},
        content_type="multipart/form-data",
    )

    assert answer.status_code == 422 and answer.json["errors"][0]["code"] == "not_started"


@pytest.mark.parametrize(
    ("role", "shown_to_clients", "status"),
    [
        ("practitioner", True, 200),
        ("admin", True, 200),
        ("receptionist", True, 404),
        ("client", True, 200),
        ("client", False, 404),
        ("other", True, 404),
    ],
)
def test_who_sees_a_photo(api_as, consented, role, shown_to_clients, status) -> None:
    photo = upload(api_as("practitioner"), consented, jpeg()).json
    show_photos_to_clients(shown_to_clients)

    api = api_as(role)
    assert api.get(f"/photos/{photo['id']}").status_code == status
    assert api.get(f"/photos/{photo['id']}/thumbnail").status_code == status


# --- photo consent ------------------------------------------------------------------------------


def test_a_client_sets_their_own_photo_consent(api_as, held) -> None:
    me = api_as("client")
    cid = held["client"].id

    before = me.get(f"/clients/{cid}/photo-consent")
    put = me.put(f"/clients/{cid}/photo-consent", {"may_take": True, "may_show_client": True})
    after = me.get(f"/clients/{cid}/photo-consent")

    assert before.json == {
        "client": cid,
        "may_take": False,
        "may_show_client": False,
        "recorded_at": None,
    }
    assert put.status_code == 200 and put.json["may_take"] and put.json["may_show_client"]
    assert after.json == put.json


def test_shown_to_the_client_is_never_set_without_photos_taken(api_as, held) -> None:
    cid = held["client"].id
    put = api_as("receptionist").put(
        f"/clients/{cid}/photo-consent", {"may_take": False, "may_show_client": True}
    )

    assert put.status_code == 200 and put.json["may_show_client"] is False


@pytest.mark.parametrize(
    ("role", "status"),
    [("receptionist", 200), ("practitioner", 200), ("admin", 200), ("other", 403)],
)
def test_who_reads_and_records_a_photo_consent(client, api_as, held, role, status) -> None:
    api = api_as(role)
    url = f"/clients/{held['client'].id}/photo-consent"

    assert api.get(url).status_code == status
    assert api.put(url, {"may_take": True, "may_show_client": False}).status_code == status


def test_a_practitioner_who_does_not_treat_the_client_gets_403(client, held) -> None:
    bert = another_practitioner(client)
    url = f"/clients/{held['client'].id}/photo-consent"

    assert bert.get(url).status_code == 403
    assert bert.put(url, {"may_take": True, "may_show_client": False}).status_code == 403


@pytest.mark.parametrize("body", [{"may_take": "yes", "may_show_client": False}, {}])
def test_a_malformed_photo_consent_is_400(api_as, held, body) -> None:
    answer = api_as("receptionist").put(f"/clients/{held['client'].id}/photo-consent", body)
    assert answer.status_code == 400


# --- the audit ----------------------------------------------------------------------------------


def test_every_showing_to_staff_writes_an_audit_entry(api_as, consented) -> None:
    api = api_as("practitioner")
    cid = consented["client"].id
    photo = upload(api, consented, jpeg()).json
    draft = api.post(records_url(consented), ENTRY).json
    api.post(f"{records_url(consented)}/{draft['id']}/sign")
    start = len(audit_rows())

    api_as("admin").get(records_url(consented))
    api.get(f"/photos/{photo['id']}")
    api.get(f"/photos/{photo['id']}/thumbnail")
    api_as("receptionist").get(f"/clients/{cid}/photo-consent")

    shown = audit_rows()[start:]
    assert [(e.client_id, e.detail["where"]) for e in shown] == [
        (cid, "treatment record"),
        (cid, "photo"),
        (cid, "photo"),
        (cid, "photo consent"),
    ]
    actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert {"add_photo", "save_record", "sign_record", "photo_consent"} <= set(actions)


def test_writing_a_record_audits_the_answer_that_shows_it(api_as, held) -> None:
    start = len(audit_rows())

    api_as("practitioner").post(records_url(held), ENTRY)

    assert [e.detail["where"] for e in audit_rows()[start:]] == ["treatment record"]


def test_the_client_reading_their_own_is_not_recorded(api_as, consented) -> None:
    photo = upload(api_as("practitioner"), consented, jpeg()).json
    show_photos_to_clients(True)
    start = len(audit_rows())

    me = api_as("client")
    assert me.get(f"/photos/{photo['id']}").status_code == 200
    assert me.get(f"/clients/{consented['client'].id}/photo-consent").status_code == 200

    assert audit_rows()[start:] == []


# --- the document -------------------------------------------------------------------------------


def test_the_document_describes_every_operation_with_its_errors(client) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    base = "/api/v1/appointments/{appointment_id}"
    wanted = {
        (f"{base}/records", "get"): {"401", "403", "404"},
        (f"{base}/records", "post"): {"400", "403", "404", "409", "422"},
        (f"{base}/records/{{record_id}}", "patch"): {"400", "403", "404", "409", "422"},
        (f"{base}/records/{{record_id}}/sign", "post"): {"403", "404", "409", "422"},
        (f"{base}/photos", "post"): {"400", "403", "404", "413", "422"},
        ("/api/v1/photos/{photo_id}", "get"): {"401", "404"},
        ("/api/v1/photos/{photo_id}/thumbnail", "get"): {"401", "404"},
        ("/api/v1/clients/{client_id}/photo-consent", "get"): {"403", "404"},
        ("/api/v1/clients/{client_id}/photo-consent", "put"): {"400", "403", "404"},
    }
    for (path, method), errors in wanted.items():
        operation = paths[path][method]
        assert errors <= set(operation["responses"]), (path, method)
    upload_body = paths[f"{base}/photos"]["post"]["requestBody"]["content"]
    assert set(upload_body) == {"multipart/form-data"}
    assert "image/jpeg" in paths["/api/v1/photos/{photo_id}"]["get"]["responses"]["200"]["content"]
