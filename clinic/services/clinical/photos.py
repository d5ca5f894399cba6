"""Before/after photos of a held session, and the client's photo consent.

An upload is checked by its content (Pillow must read it as a JPEG, PNG or WebP image, whatever
its name), refused above `PHOTO_MAX_BYTES` with a sentence that says the limit, turned upright
and re-encoded from its pixels alone (so no EXIF, GPS or other metadata survives), resized to
what a screen needs (1600 px on the long side) with a 320 px thumbnail, and stored in the photo
store (`photo_store.py`, the database by default). A photo is taken only when the client's
photo consent says so, and shown only to the client's practitioners and the admin, or to the
client when they agreed to see them and the clinic's policy shows photos to clients. Every
showing to staff goes through `audit.shown_health_data`.
"""

from __future__ import annotations

import base64
import io
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from clinic.models import PHOTO_KINDS, Appointment, Client, Photo, PhotoConsent, utcnow
from clinic.scheduling import Violation
from clinic.services.clinical import records_wording as words
from clinic.services.clinical.photo_store import photo_store
from clinic.services.core import clinic_setup
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record, shown_health_data
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import (
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RuleViolation,
    TooLarge,
)
from clinic.services.core.permissions import (
    can_record_photo_consent,
    can_see_clinical_records,
    can_write_treatment_record,
    is_client,
    is_practitioner,
)

SCREEN_PX = 1600
THUMB_PX = 320
READABLE = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
SIZES = ("screen", "thumb")


@dataclass(frozen=True, slots=True)
class Prepared:
    screen: bytes
    thumb: bytes
    width: int
    height: int


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def prepare_image(data: bytes, *, max_bytes: int) -> Prepared:
    """The upload as a clean screen-sized JPEG and a thumbnail, or `TooLarge` / `InvalidRequest`
    (field `photo`) when it is too large or not an image."""
    if len(data) > max_bytes:
        raise TooLarge(words.too_large(len(data), max_bytes), field="photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in READABLE:
                    raise InvalidRequest(words.NOT_AN_IMAGE, field="photo", code="not_an_image")
                probe.verify()
            with Image.open(io.BytesIO(data)) as opened:
                upright = ImageOps.exif_transpose(opened)
                rgb = upright.convert("RGB")
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise TooLarge(words.TOO_MANY_PIXELS, field="photo") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidRequest(words.NOT_AN_IMAGE, field="photo", code="not_an_image") from exc
    # Only the pixels go on: a new image carries no EXIF, GPS, ICC profile or comment.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    clean.thumbnail((SCREEN_PX, SCREEN_PX))
    thumb = clean.copy()
    thumb.thumbnail((THUMB_PX, THUMB_PX))
    return Prepared(_jpeg(clean), _jpeg(thumb), clean.width, clean.height)


# --- consent ------------------------------------------------------------------------------------


def photo_consent(client_id: int) -> PhotoConsent | None:
    return db_session().get(PhotoConsent, client_id)


def _consent_of_client(actor: Actor, client_id: int) -> None:
    """A client's photo consent is for reception, the client's practitioners and the client
    (who record it): `NotFound` for no such client, `PermissionDenied` for anyone else."""
    client = db_session().get(Client, client_id)
    if client is None or client.anonymised_at is not None:
        raise NotFound("There is no such client.")
    if not can_record_photo_consent(actor, client_id):
        raise PermissionDenied("Reception, the client's practitioner or the client records this.")


def get_photo_consent(*, actor: Actor, client_id: int) -> PhotoConsent | None:
    """The client's photo consent (None: none recorded, so no photos), for those who record
    it; staff shown it are recorded, as on the client's and the record's pages."""
    _consent_of_client(actor, client_id)
    shown_health_data(actor, [client_id], "photo consent")
    return photo_consent(client_id)


def record_photo_consent(
    *, actor: Actor, client_id: int, may_take: bool, may_show_client: bool
) -> PhotoConsent:
    """The client's word on photos (taken at all; shown to them), as they give it."""
    _consent_of_client(actor, client_id)
    with transaction() as s:
        consent = s.get(PhotoConsent, client_id)
        if consent is None:
            consent = PhotoConsent(client_id=client_id)
            s.add(consent)
        consent.may_take = may_take
        consent.may_show_client = may_take and may_show_client
        consent.recorded_at = utcnow()
        consent.recorded_by_id = actor.user_id
        record(
            s,
            actor,
            "photo_consent",
            "client",
            client_id,
            client_id=client_id,
            may_take=consent.may_take,
            may_show_client=consent.may_show_client,
        )
    return consent


def client_sees_photos(client_id: int) -> bool:
    """Whether photos are shown to the client: their consent and the clinic's policy."""
    consent = photo_consent(client_id)
    return (
        consent is not None
        and consent.may_show_client
        and clinic_setup.settings().photos_shown_to_clients
    )


# --- photos -------------------------------------------------------------------------------------


def add_photo(
    *,
    actor: Actor,
    appointment_id: int,
    kind: str,
    data: bytes,
    now: datetime | None = None,
) -> Photo:
    """Store a before or after photo of a session that has begun, taken by its practitioner
    with the client's consent."""
    now = now or utcnow()
    if not is_practitioner(actor):
        raise PermissionDenied(words.NOT_YOURS)
    if kind not in PHOTO_KINDS:
        raise InvalidRequest("Choose before or after.", field="kind")
    with transaction() as s:
        appointment = s.get(Appointment, appointment_id)
        if appointment is None:
            raise NotFound("There is no such session.")
        if not can_write_treatment_record(actor, appointment):
            raise PermissionDenied(words.NOT_YOURS)
        if appointment.status not in ("booked", "done") or appointment.start_at > now:
            raise RuleViolation(
                [Violation("not_started", words.PHOTO_NOT_STARTED, appointment.session)]
            )
        consent = s.get(PhotoConsent, appointment.client_id)
        if consent is None or not consent.may_take:
            raise PermissionDenied(words.NO_PHOTOS, field="photo", code="photo_consent_missing")
        prepared = prepare_image(data, max_bytes=int(current_app.config["PHOTO_MAX_BYTES"]))
        key = secrets.token_hex(16)
        store = photo_store()
        photo = Photo(
            appointment_id=appointment.id,
            client_id=appointment.client_id,
            kind=kind,
            content_type="image/jpeg",
            width=prepared.width,
            height=prepared.height,
            screen_key=f"photo/{key}/screen.jpg",
            thumb_key=f"photo/{key}/thumb.jpg",
            created_at=now,
            created_by_id=actor.user_id,
        )
        store.put(photo.screen_key, prepared.screen)
        store.put(photo.thumb_key, prepared.thumb)
        s.add(photo)
        s.flush()
        record(s, actor, "add_photo", "photo", photo.id, client_id=appointment.client_id)
    return photo


def photos_of(appointment_ids: list[int]) -> dict[int, list[Photo]]:
    """The photos of these sessions, before first, by appointment id (no audit: the caller
    showing them has asked `shown_health_data` already)."""
    if not appointment_ids:
        return {}
    out: dict[int, list[Photo]] = {i: [] for i in appointment_ids}
    for photo in db_session().scalars(
        select(Photo)
        .where(Photo.appointment_id.in_(appointment_ids))
        .order_by(Photo.appointment_id, Photo.kind.desc(), Photo.id)
    ):
        out[photo.appointment_id].append(photo)
    return out


def may_see_photos_of(actor: Actor, client_id: int) -> bool:
    """Staff who may see the client's records, or the client when photos are shown to them."""
    if is_client(actor):
        return actor.client_id == client_id and client_sees_photos(client_id)
    return can_see_clinical_records(actor, client_id)


def get_photo_image(*, actor: Actor, photo_id: int, size: str = "screen") -> tuple[bytes, str]:
    """A photo's bytes and content type, for someone who may see it (else `NotFound`, so that
    no one learns which photos exist); the showing is audited."""
    if size not in SIZES:
        raise InvalidRequest("Choose screen or thumb.", field="size")
    photo = db_session().get(Photo, photo_id)
    if photo is None or not may_see_photos_of(actor, photo.client_id):
        raise NotFound(words.NO_SUCH_PHOTO)
    data = photo_store().get(photo.screen_key if size == "screen" else photo.thumb_key)
    if data is None:
        raise NotFound(words.NO_SUCH_PHOTO)
    shown_health_data(actor, [photo.client_id], "photo")
    return data, photo.content_type


def export_photos(client_id: int) -> list[dict[str, object]]:
    """A client's photos for their export: the screen-sized image as base64 JPEG."""
    store = photo_store()
    out: list[dict[str, object]] = []
    for p in db_session().scalars(
        select(Photo).where(Photo.client_id == client_id).order_by(Photo.id)
    ):
        data = store.get(p.screen_key)
        out.append(
            {
                "id": p.id,
                "appointment": p.appointment_id,
                "kind": p.kind,
                "taken_at": p.created_at.isoformat(),
                "content_type": p.content_type,
                "image_base64": base64.b64encode(data).decode("ascii") if data else None,
            }
        )
    return out


def erase_photos(client_id: int) -> int:
    """Delete a client's photos and their bytes (erasure); inside the caller's transaction."""
    s = db_session()
    photos = list(s.scalars(select(Photo).where(Photo.client_id == client_id)))
    photo_store().delete(k for p in photos for k in (p.screen_key, p.thumb_key))
    for photo in photos:
        s.delete(photo)
    return len(photos)
