"""The sentences of treatment records and photos, whole, in one place."""

from __future__ import annotations

REACTION_LABELS = {
    0: "0 - no reaction",
    1: "1 - mild (slight redness)",
    2: "2 - moderate (redness, swelling)",
    3: "3 - severe (blistering, crusting, marked swelling)",
}

NOT_HELD = "A treatment record is written for a held session; mark the session done first."
NOT_YOURS = "Only the practitioner who held the session writes its record and takes its photos."
NOT_SHOWN = "Treatment records and photos are for the client's practitioners and the admin."
SIGNED = "A signed entry never changes; amend it with a new entry instead."
DRAFT_EXISTS = "This session has a draft entry already; edit that draft or sign it off."
NO_REACTION = "Grade the skin's reaction (0 to 3) before signing the entry off."
NO_PHOTOS = "The client has not agreed to photos; record their consent first."
NOT_AN_IMAGE = "This file is not a photo we can read; choose a JPEG, PNG or WebP image."
TOO_MANY_PIXELS = "This image is too large to process; take the photo at a lower resolution."
PHOTO_NOT_STARTED = "Photos belong to a session that has begun; this one has not."
NO_SUCH_RECORD = "There is no such treatment record."
NO_SUCH_PHOTO = "There is no such photo."
NO_SESSIONS_TO_PUSH = "This course has no booked session to come to push."


def size_text(size: int) -> str:
    """'12 MB', '3.4 MB', '480 KB'."""
    mib = 1024 * 1024
    if size >= mib:
        return f"{size / mib:.1f}".removesuffix(".0") + " MB"
    return f"{max(1, round(size / 1024))} KB"


def too_large(size: int, limit: int) -> str:
    return (
        f"The photo is {size_text(size)}; photos may be at most {size_text(limit)}. "
        "Take it again at a lower resolution, or choose a smaller file."
    )


def unknown_field(label: str) -> str:
    return f"{label}: give a number, such as 12 or 12.5."


def not_in_template(code: str) -> str:
    return f"{code}: the procedure's record template has no such field."


def not_a_choice(label: str) -> str:
    return f"{label}: choose one of the listed values."


def reaction_review(session: int) -> str:
    return (
        f"The skin reacted severely (3 of 3) after session {session}: the practitioner "
        "reviews the course before this session goes ahead."
    )


def reaction_cause(session: int) -> str:
    return f"Reaction 3 recorded after session {session}"


def push_refused(days: int) -> str:
    return f"The rest of the course cannot be pushed by {days} days within the rules:"
