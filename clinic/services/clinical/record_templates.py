"""Each procedure's treatment-record template: the fields a practitioner fills in after a held
session, beyond what every record has (areas treated, products with batch numbers, the skin's
reaction 0-3, free notes).

A template lives on the procedure in the catalogue (`record_fields` in the catalogue file,
`Procedure.record_template`). A procedure without one gets the default of its kind: a laser
(its device kind or qualification names a laser) records fluence, spot size and passes; a peel
records the acid, its concentration and the exposure time; anything else only the common
fields. A template is a list of fields `{"code", "label", "kind", "unit"?, "choices"?}` with
`kind` one of `number`, `text`, `choice`; this module checks one (the catalogue reader and the
procedure page both ask it) and reads it back as lines for the page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

FIELD_KINDS = ("number", "text", "choice")
MAX_FIELDS = 20
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

LASER_FIELDS: list[dict[str, Any]] = [
    {"code": "fluence", "label": "Fluence", "kind": "number", "unit": "J/cm²"},
    {"code": "spot_size", "label": "Spot size", "kind": "number", "unit": "mm"},
    {"code": "passes", "label": "Passes", "kind": "number"},
]
PEEL_FIELDS: list[dict[str, Any]] = [
    {"code": "acid", "label": "Acid", "kind": "text"},
    {"code": "concentration", "label": "Concentration", "kind": "number", "unit": "%"},
    {"code": "exposure", "label": "Exposure time", "kind": "number", "unit": "min"},
]
# The fields every record has (not part of a template; the codes are taken).
COMMON_CODES = frozenset({"areas", "products", "reaction", "notes"})


def default_template(*, device_kind: str | None, qualification: str) -> list[dict[str, Any]]:
    """The template of a procedure that gives none: by what its device or qualification is."""
    words = f"{device_kind or ''} {qualification}".lower()
    if "laser" in words or "ipl" in words:
        return [dict(f) for f in LASER_FIELDS]
    if "peel" in words:
        return [dict(f) for f in PEEL_FIELDS]
    return []


def template_of(
    record_template: list[dict[str, Any]] | None, *, device_kind: str | None, qualification: str
) -> list[dict[str, Any]]:
    """A procedure's own template, or its default."""
    if record_template is not None:
        return [dict(f) for f in record_template]
    return default_template(device_kind=device_kind, qualification=qualification)


def template_problems(value: object) -> list[tuple[tuple[int | str, ...], str]]:
    """What is wrong with a template, as (path inside it, sentence); empty when it is right."""
    if not isinstance(value, list):
        return [((), "Give the record's fields as a list.")]
    if len(value) > MAX_FIELDS:
        return [((), f"A record template has at most {MAX_FIELDS} fields.")]
    problems: list[tuple[tuple[int | str, ...], str]] = []
    seen: set[str] = set()
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            problems.append(((i,), "Each field is an object with a code, a label and a kind."))
            continue
        extra = set(entry) - {"code", "label", "kind", "unit", "choices"}
        if extra:
            problems.append(((i, sorted(extra)[0]), "This key is not part of a record field."))
        code = entry.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            problems.append(
                ((i, "code"), "Give a code of lower-case letters, digits and _, e.g. fluence.")
            )
        elif code in COMMON_CODES:
            problems.append(((i, "code"), f"Every record has {code!r} already; choose another."))
        elif code in seen:
            problems.append(((i, "code"), f"The code {code!r} is used twice."))
        else:
            seen.add(code)
        label = entry.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 60:
            problems.append(((i, "label"), "Give a label of at most 60 characters."))
        kind = entry.get("kind")
        if kind not in FIELD_KINDS:
            problems.append(((i, "kind"), f"Choose one of {', '.join(FIELD_KINDS)}."))
        unit = entry.get("unit")
        if unit is not None and (not isinstance(unit, str) or len(unit) > 20):
            problems.append(((i, "unit"), "Give a unit of at most 20 characters."))
        choices = entry.get("choices")
        if kind == "choice":
            if (
                not isinstance(choices, list)
                or not choices
                or not all(isinstance(c, str) and c.strip() and len(c) <= 60 for c in choices)
            ):
                problems.append(((i, "choices"), "Give the choices, each at most 60 characters."))
        elif choices is not None:
            problems.append(((i, "choices"), "Only a field of kind choice has choices."))
    return problems


def as_lines(template: Sequence[dict[str, Any]] | None) -> str:
    """A template as the procedure page's lines: `code; label; kind; unit or a | b | c`."""
    lines = []
    for f in template or []:
        last = " | ".join(f.get("choices") or []) if f.get("kind") == "choice" else f.get("unit")
        parts = [f.get("code", ""), f.get("label", ""), f.get("kind", "")]
        if last:
            parts.append(last)
        lines.append("; ".join(str(p) for p in parts))
    return "\n".join(lines)


def from_lines(text: str) -> list[dict[str, Any]]:
    """The procedure page's lines as a template (checked afterwards by `template_problems`)."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        entry: dict[str, Any] = {
            "code": parts[0],
            "label": parts[1] if len(parts) > 1 else "",
            "kind": parts[2] if len(parts) > 2 else "",
        }
        last = parts[3] if len(parts) > 3 else ""
        if entry["kind"] == "choice":
            entry["choices"] = [c.strip() for c in last.split("|") if c.strip()]
        elif last:
            entry["unit"] = last
        out.append(entry)
    return out
