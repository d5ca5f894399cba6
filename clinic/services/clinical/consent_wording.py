"""The sentences people read about consent forms and signatures (issue 21), whole sentences
in one place. The engine's own refusal (`consent_required`) words itself
(clinic/scheduling/rules.py), as every rule does."""

from __future__ import annotations

from datetime import date

from clinic.scheduling.wording import long_day_text

STATEMENT = (
    "I have read and understood this consent form, I have been able to ask questions, and I "
    "agree to the treatment it describes."
)
PAPER_STATEMENT = "The client has signed the printed form, version {version}, at the desk."

NO_NAME = "Type your full name to sign."
NO_AGREE = "Tick the statement to sign."
NO_NAME_PAPER = "Give the name the client signed with."
NO_AGREE_PAPER = "Tick that the client has signed the printed form."
UNKNOWN_FORM = "There is no such consent form."
NO_TEXT = "This consent form has no text to sign yet."
NOT_YOURS = "Clients sign their own consent forms; reception records a paper signature."
PRACTITIONER_READS = "Practitioners read consents; the client or reception records them."


def describe_form(*, procedures: list[str], valid_days: object) -> str:
    """The rule a consent form makes, in one sentence (the catalogue page, its editor)."""
    needs = (
        ", ".join(procedures) + (" need" if len(procedures) > 1 else " needs")
        if procedures
        else "No procedure needs"
    )
    valid = (
        f"; a signature is valid for {valid_days} days from the day it is signed, that day "
        "included."
        if isinstance(valid_days, int) and valid_days > 0
        else "."
    )
    return f"{needs} this form signed before a session{valid}"


def signed_sentence(*, title: str, version: int, valid_until: date) -> str:
    """What a client or reception is told once a form is signed."""
    return (
        f"Signed \u201c{title}\u201d (version {version}); it is valid until "
        f"{long_day_text(valid_until)}."
    )


def mended_sentence(count: int) -> str:
    """Flags a signature has cleared from the attention list."""
    sessions = "session" if count == 1 else "sessions"
    return f"{count} booked {sessions} no longer wait for this consent."


def status_sentence(*, valid_until: date | None, today: date) -> str:
    """A form's state for a client: signed and valid until, expired, or not signed."""
    if valid_until is None:
        return "Not signed yet."
    if valid_until < today:
        return f"The signature expired on {long_day_text(valid_until)}; please sign again."
    return f"Signed; valid until {long_day_text(valid_until)}."
