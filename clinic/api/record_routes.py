"""JSON API v1: a held session's treatment record, its before/after photos and the client's
photo consent (issue 21). The services decide who may do what and audit every showing."""

from __future__ import annotations

from typing import Any

from flask import Response, g, url_for
from flask.typing import ResponseReturnValue

from clinic.api import schemas
from clinic.api.registry import endpoint
from clinic.api.serialise import json_answer, local
from clinic.models import Photo, PhotoConsent, TreatmentRecord
from clinic.photo_pages import NO_STORE
from clinic.services.clinical import photos, records
from clinic.services.clinical.records import Product, RecordInput

RECORD_ERRORS = (400, 401, 403, 404, 409, 422)


def _entry_out(e: TreatmentRecord) -> dict[str, Any]:
    return {
        "id": e.id,
        "appointment": e.appointment_id,
        "status": e.status,
        "amends": e.amends_id,
        "template": e.template or [],
        "values": e.values or {},
        "areas": e.areas,
        "products": e.products or [],
        "reaction": e.reaction,
        "notes": e.notes,
        "created_at": local(e.created_at),
        "created_by": e.created_by.name if e.created_by else None,
        "updated_at": local(e.updated_at),
        "signed_at": local(e.signed_at) if e.signed_at else None,
        "signed_by": e.signed_by.name if e.signed_by else None,
    }


def _photo_out(p: Photo) -> dict[str, Any]:
    return {
        "id": p.id,
        "appointment": p.appointment_id,
        "kind": p.kind,
        "content_type": p.content_type,
        "width": p.width,
        "height": p.height,
        "taken_at": local(p.created_at),
        "url": url_for("api.show_photo", photo_id=p.id),
        "thumbnail": url_for("api.show_photo_thumbnail", photo_id=p.id),
    }


def _consent_out(client_id: int, c: PhotoConsent | None) -> dict[str, Any]:
    return {
        "client": client_id,
        "may_take": bool(c and c.may_take),
        "may_show_client": bool(c and c.may_show_client),
        "recorded_at": local(c.recorded_at) if c else None,
    }


def _saved(entry: TreatmentRecord, status: int = 200) -> ResponseReturnValue:
    return json_answer(schemas.RecordEntryOut, _entry_out(entry), status)


def _products(items: list[schemas.ProductIn]) -> tuple[Product, ...]:
    return tuple(Product(p.name, p.batch) for p in items)


@endpoint(
    "GET",
    "/appointments/<int:appointment_id>/records",
    "A session's treatment record: every entry with its template (a draft only to its "
    "author), its photos (no bytes) and the client's photo consent. For the client's "
    "practitioners and the admin; every showing is audited",
    response=schemas.RecordHistoryOut,
    errors=(401, 403, 404),
)
def list_records(appointment_id: int) -> ResponseReturnValue:
    page = records.get_record_page(actor=g.actor, appointment_id=appointment_id)
    a = page.appointment
    out = {
        "appointment": a.id,
        "client": a.client_id,
        "session": a.session,
        "status": a.status,
        "template": page.template,
        "entries": [_entry_out(e) for e in page.entries],
        "current": page.current.id if page.current else None,
        "draft": page.draft.id if page.draft else None,
        "photos": [_photo_out(p) for p in page.photos],
        "photo_consent": _consent_out(a.client_id, page.consent),
        "can_write": page.can_write,
    }
    return json_answer(schemas.RecordHistoryOut, out)


@endpoint(
    "POST",
    "/appointments/<int:appointment_id>/records",
    "The practitioner who held the session records an entry: a draft, or signed off at once "
    "(`sign`); after a signed entry, a new one amends it. 409 `draft_exists` while a draft "
    "waits (PATCH it); 422 `not_held` before the session is marked done, `invalid_record` "
    "for a template value",
    body=schemas.RecordWrite,
    response=schemas.RecordEntryOut,
    status=201,
    errors=RECORD_ERRORS,
)
def create_record(appointment_id: int) -> ResponseReturnValue:
    body: schemas.RecordWrite = g.body
    entry = RecordInput(
        values=dict(body.values),
        areas=body.areas,
        products=_products(body.products),
        reaction=body.reaction,
        notes=body.notes,
    )
    saved = records.save_record(
        actor=g.actor, appointment_id=appointment_id, entry=entry, sign=body.sign
    )
    return _saved(saved, 201)


@endpoint(
    "PATCH",
    "/appointments/<int:appointment_id>/records/<int:record_id>",
    "Edit a draft entry: the fields given change, the others stay. 409 `record_signed` for "
    "a signed entry (amend it with a new one)",
    body=schemas.RecordChange,
    response=schemas.RecordEntryOut,
    errors=RECORD_ERRORS,
)
def edit_record(appointment_id: int, record_id: int) -> ResponseReturnValue:
    body: schemas.RecordChange = g.body
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    if "values" in given:
        changes["values"] = dict(body.values or {})
    if "areas" in given:
        changes["areas"] = body.areas or ""
    if "products" in given:
        changes["products"] = _products(body.products or [])
    if "reaction" in given:
        changes["reaction"] = body.reaction
    if "notes" in given:
        changes["notes"] = body.notes or ""
    saved = records.save_record(
        actor=g.actor, appointment_id=appointment_id, record_id=record_id, changes=changes
    )
    return _saved(saved)


@endpoint(
    "POST",
    "/appointments/<int:appointment_id>/records/<int:record_id>/sign",
    "Sign a draft entry off as saved; it never changes again. 422 `invalid_record` without "
    "the reaction graded, 409 `record_signed` if it is signed already",
    response=schemas.RecordEntryOut,
    errors=(401, 403, 404, 409, 422),
)
def sign_record(appointment_id: int, record_id: int) -> ResponseReturnValue:
    saved = records.save_record(
        actor=g.actor, appointment_id=appointment_id, record_id=record_id, sign=True
    )
    return _saved(saved)


@endpoint(
    "POST",
    "/appointments/<int:appointment_id>/photos",
    "The practitioner who holds the session adds a before or after photo (multipart), once "
    "the session has begun (422 `not_started` before) and with the client's photo consent "
    "(403 `photo_consent_missing`). 400 `not_an_image` for anything but a JPEG, PNG or WebP "
    "image, 413 `too_large` above the clinic's limit",
    form=schemas.PhotoUpload,
    response=schemas.PhotoOut,
    status=201,
    errors=(400, 401, 403, 404, 413, 422),
)
def upload_photo(appointment_id: int) -> ResponseReturnValue:
    body: schemas.PhotoUpload = g.body
    photo = photos.add_photo(
        actor=g.actor, appointment_id=appointment_id, kind=body.kind, data=body.photo
    )
    return json_answer(schemas.PhotoOut, _photo_out(photo), 201)


def _image(photo_id: int, size: str) -> Response:
    data, content_type = photos.get_photo_image(actor=g.actor, photo_id=photo_id, size=size)
    return Response(data, mimetype=content_type, headers=NO_STORE)


@endpoint(
    "GET",
    "/photos/<int:photo_id>",
    "A photo, sized for a screen (JPEG, never cached): for the client's practitioners and "
    "the admin, or the client when photos are shown to them; audited",
    errors=(401, 404),
    content_type="image/jpeg",
)
def show_photo(photo_id: int) -> ResponseReturnValue:
    return _image(photo_id, "screen")


@endpoint(
    "GET",
    "/photos/<int:photo_id>/thumbnail",
    "A photo's thumbnail (JPEG, 320 px), for whoever may see the photo; audited",
    errors=(401, 404),
    content_type="image/jpeg",
)
def show_photo_thumbnail(photo_id: int) -> ResponseReturnValue:
    return _image(photo_id, "thumb")


@endpoint(
    "GET",
    "/clients/<int:client_id>/photo-consent",
    "A client's photo consent: reception, the client's practitioners, or the client",
    response=schemas.PhotoConsentOut,
    errors=(401, 403, 404),
)
def get_photo_consent(client_id: int) -> ResponseReturnValue:
    consent = photos.get_photo_consent(actor=g.actor, client_id=client_id)
    return json_answer(schemas.PhotoConsentOut, _consent_out(client_id, consent))


@endpoint(
    "PUT",
    "/clients/<int:client_id>/photo-consent",
    "Record a client's photo consent: reception or the client's practitioner as the client "
    "gives it, or the client their own",
    body=schemas.PhotoConsentUpdate,
    response=schemas.PhotoConsentOut,
    errors=(400, 401, 403, 404),
)
def set_photo_consent(client_id: int) -> ResponseReturnValue:
    body: schemas.PhotoConsentUpdate = g.body
    consent = photos.record_photo_consent(
        actor=g.actor,
        client_id=client_id,
        may_take=body.may_take,
        may_show_client=body.may_show_client,
    )
    return json_answer(schemas.PhotoConsentOut, _consent_out(client_id, consent))
