"""Consent signatures (issue 21, "Consent"): a client signs a consent form online, or reception
records the client's paper signature at the desk; both sign the form's current version.

A signature keeps the version it signed (and so, forever, the very text shown), the text's
SHA-256, when, how ("online" or "paper") and who (the client's account, or the member of staff
who recorded the paper). It is valid on the clinic's local dates from the day it is signed to
`valid_until` = that day + the form's `valid_days`, both included.

Signing is a change of the world that mends (services/lifetime/attention.py): the client's
booked sessions waiting for this consent leave the attention list, and any still broken keep
their flag. Consents are health data: every answer that shows them to staff is recorded
(`shown_health_data`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.models import Appointment, AttentionFlag, ClientConsent, ConsentForm, utcnow
from clinic.services.clinical import consent_wording as wording
from clinic.services.core import date_range, text
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record, shown_health_data
from clinic.services.core.db import db_session, lock_client, transaction
from clinic.services.core.errors import InvalidRequest, NotFound, PermissionDenied
from clinic.services.core.permissions import can_book_for, is_client, is_practitioner
from clinic.services.lifetime import attention
from clinic.services.world import client_reads

MAX_NAME = 120


@dataclass(frozen=True, slots=True)
class FormStatus:
    """A consent form as a client's page shows it: its latest signature, if any."""

    form: ConsentForm
    latest: ClientConsent | None
    today: date

    @property
    def valid_until(self) -> date | None:
        return self.latest.valid_until if self.latest is not None else None

    @property
    def valid(self) -> bool:
        return self.latest is not None and self.latest.valid_until >= self.today

    @property
    def sentence(self) -> str:
        return wording.status_sentence(valid_until=self.valid_until, today=self.today)


@dataclass(frozen=True, slots=True)
class Signed:
    """What signing did: the signature, and the booked sessions it took off the attention
    list."""

    consent: ClientConsent
    mended: int

    @property
    def sentence(self) -> str:
        c = self.consent
        said = wording.signed_sentence(
            title=c.form.title, version=c.version.number, valid_until=c.valid_until
        )
        return f"{said} {wording.mended_sentence(self.mended)}" if self.mended else said


def valid_until(signed_on: date, valid_days: int) -> date:
    """The last local date a signature made on `signed_on` covers (included)."""
    return signed_on + timedelta(days=valid_days)


def _form(code: str, *, with_retired: bool = False) -> ConsentForm:
    form = db_session().scalar(
        select(ConsentForm)
        .options(selectinload(ConsentForm.versions), selectinload(ConsentForm.procedures))
        .where(ConsentForm.code == code)
    )
    if form is None or (form.retired and not with_retired):
        raise NotFound(wording.UNKNOWN_FORM, field="form")
    return form


def get_form(code: str) -> ConsentForm:
    """A consent form that can be signed now (not retired, with a text)."""
    form = _form(code)
    if form.current is None:
        raise NotFound(wording.NO_TEXT, field="form")
    return form


def list_forms() -> list[ConsentForm]:
    """The consent forms clients may sign, by title."""
    return list(
        db_session().scalars(
            select(ConsentForm)
            .options(selectinload(ConsentForm.versions), selectinload(ConsentForm.procedures))
            .where(ConsentForm.retired.is_(False))
            .order_by(ConsentForm.title, ConsentForm.code)
        )
    )


def list_consents(
    *, actor: Actor, client_id: int | None, where: str = "consents"
) -> list[ClientConsent]:
    """The client's signatures, latest first: the client its own, reception any client's, a
    practitioner those of a client it treats. Staff shown any are recorded."""
    client = client_reads.resolve_client_id(actor, client_id)
    signed = _signatures(client)
    if signed:
        shown_health_data(actor, [client], where)
    return signed


def _signatures(client_id: int) -> list[ClientConsent]:
    return list(
        db_session().scalars(
            select(ClientConsent)
            .options(
                selectinload(ClientConsent.form),
                selectinload(ClientConsent.version),
                selectinload(ClientConsent.recorded_by),
            )
            .where(ClientConsent.client_id == client_id)
            .order_by(ClientConsent.signed_at.desc(), ClientConsent.id.desc())
        )
    )


def form_statuses(
    *, actor: Actor, client_id: int | None, now: datetime | None = None
) -> list[FormStatus]:
    """Each form that can be signed, with the client's latest signature of it."""
    today = date_range.clinic_today(now or utcnow())
    signatures = list_consents(actor=actor, client_id=client_id)
    latest: dict[int, ClientConsent] = {}
    for c in signatures:  # latest first
        latest.setdefault(c.form_id, c)
    return [FormStatus(form, latest.get(form.id), today) for form in list_forms()]


def get_consent(*, actor: Actor, client_id: int | None, consent_id: int) -> ClientConsent:
    """One signature with the very text it signed (its version's), for whoever may read the
    client's consents; staff shown it are recorded."""
    client = client_reads.resolve_client_id(actor, client_id)
    found = next((c for c in _signatures(client) if c.id == consent_id), None)
    if found is None:
        raise NotFound("There is no such signature.")
    shown_health_data(actor, [client], "consent")
    return found


def _require_signer(actor: Actor) -> None:
    """Reception records for any client, a client signs for itself (another client's id is
    then "no such client", `named_client_id`); practitioners only read."""
    if not can_book_for(actor, None):
        raise PermissionDenied(
            wording.PRACTITIONER_READS if is_practitioner(actor) else wording.NOT_YOURS
        )


def sign_consent(
    *,
    actor: Actor,
    client_id: int | None,
    form_code: str,
    signed_name: str,
    agree: bool,
    now: datetime | None = None,
) -> Signed:
    """Sign the form's current version for the client: online when the client signs, on
    paper when reception records the client's signature at the desk. Without a name or the
    statement ticked nothing is written (`InvalidRequest`, 400)."""
    now = now or utcnow()
    _require_signer(actor)
    paper = not is_client(actor)
    name = (signed_name or "").strip()
    if not name:
        raise InvalidRequest(
            wording.NO_NAME_PAPER if paper else wording.NO_NAME, field="signed_name"
        )
    if len(name) > MAX_NAME:
        raise InvalidRequest(f"At most {MAX_NAME} characters.", field="signed_name")
    if problem := text.one_line_problem(name):
        raise InvalidRequest(problem, field="signed_name", code=text.CODE)
    if agree is not True:
        raise InvalidRequest(wording.NO_AGREE_PAPER if paper else wording.NO_AGREE, field="agree")
    with (
        attention.world_change(
            actor=actor, cause="Consent signed", confirm=True, now=now, mends=True
        ) as change,
        transaction() as s,
    ):
        client = client_reads.named_client_id(actor, client_id)
        lock_client(client)
        client_reads.require_visible_client(actor, client)
        form = get_form(form_code)
        version = form.current
        assert version is not None  # get_form refuses a form without a text
        signed_on = date_range.clinic_today(now)
        consent = ClientConsent(
            client_id=client,
            form_id=form.id,
            version_id=version.id,
            text_sha256=version.sha256,
            signed_name=name,
            how="paper" if paper else "online",
            signed_at=now,
            signed_on=signed_on,
            valid_until=valid_until(signed_on, form.valid_days),
            recorded_by_id=actor.user_id,
        )
        consent.form, consent.version = form, version
        s.add(consent)
        s.flush()
        shown_health_data(actor, [client], "consent signed")
        flagged_before = _flagged(client, now)
        change.concerns(attention.of_client(client))
        record(
            s,
            actor,
            "sign_consent",
            "client_consent",
            consent.id,
            client_id=client,
            form=form.code,
            version=version.number,
            how=consent.how,
            sha256=version.sha256,
        )
    mended = len(flagged_before - {b.appointment_id for b in change.still_broken})
    return Signed(consent, mended)


def _flagged(client_id: int, now: datetime) -> set[int]:
    """The client's booked sessions to come that wait on the attention list now."""
    return set(
        db_session().scalars(
            select(AttentionFlag.appointment_id)
            .join(Appointment, Appointment.id == AttentionFlag.appointment_id)
            .where(Appointment.client_id == client_id, Appointment.to_come(now))
        )
    )
