"""What a name may hold, in one place: a person's name (client, staff, practitioner) or a
thing's (course, procedure, room, device, holiday, the clinic). The pages' forms
(clinic/form_validators.py), the API's schemas and the catalogue file's fields ask here.

Invisible text-direction controls are refused: the overrides and embeddings U+202A to
U+202E, the isolates U+2066 to U+2069, and the marks U+200E, U+200F and U+061C. An
override makes "Anna\u202eeveR" read as something else in every list, email and calendar
that shows it; a mark makes two names that look the same differ. No name needs them: a
right-to-left name is written with its own letters.
"""

from __future__ import annotations

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
BIDI_CODE = "bidi_control"
BIDI_MESSAGE = (
    "A name may not contain invisible text-direction characters (such as U+202E); "
    "type it again without them."
)


def name_problem(value: str) -> str | None:
    """Why `value` cannot be a name, or None."""
    if any(ch in BIDI_CONTROLS for ch in value):
        return BIDI_MESSAGE
    return None
