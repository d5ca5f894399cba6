"""A course's rules in one sentence, for the catalogue's pages and the rules a booked course keeps:
"6 sessions, 14 to 28 days apart; after each: no makeup 24 hours, avoid sun 7 days"."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clinic.scheduling.wording import (
    PHOTOTYPE_NUMERALS,
    PHOTOTYPE_WORDS,
    condition_label,
    duration_text,
    phototypes_text,
)

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, slots=True)
class CareText:
    text: str
    hours: int


def _care(items: Iterable[CareText]) -> str:
    return ", ".join(f"{c.text[:1].lower()}{c.text[1:]} {duration_text(c.hours)}" for c in items)


def month_span_text(months: Sequence[int]) -> str:
    """'October to March', 'June, August'; consecutive months (wrapping the year) joined.
    Numbers that are no month are left out: the preview words a form not yet validated."""
    chosen = sorted({m for m in months if 1 <= m <= 12})
    if not chosen or len(chosen) == 12:
        return "all year"
    runs: list[list[int]] = []
    for m in chosen:
        if runs and m == runs[-1][-1] + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    if len(runs) > 1 and runs[0][0] == 1 and runs[-1][-1] == 12:
        runs[0] = runs.pop() + runs[0]
    words = [
        MONTH_NAMES[r[0] - 1]
        if len(r) == 1
        else f"{MONTH_NAMES[r[0] - 1]} to {MONTH_NAMES[r[-1] - 1]}"
        for r in runs
    ]
    return ", ".join(words)


def describe_course(
    *,
    sessions: int | None,
    min_days: int | None,
    max_days: int | None,
    ideal_days: int | None = None,
    aftercare: Sequence[CareText] = (),
    precare: Sequence[CareText] = (),
    contraindications: Sequence[tuple[str, int]] = (),
    months: Sequence[int] = (),
    phototypes: Sequence[int] = (),
) -> str:
    """'6 sessions, 14 to 28 days apart; after each: no makeup 24 hours, avoid sun 7 days'."""
    if not sessions:
        return ""
    parts = [f"{sessions} session{'s' if sessions != 1 else ''}"]
    if sessions > 1:
        lo = min_days or 0
        parts[0] += (
            f", {lo} to {max_days} days apart"
            if max_days is not None
            else f", at least {lo} day{'s' if lo != 1 else ''} apart"
        )
        if ideal_days is not None:
            parts[0] += f" (ideally {ideal_days})"
    if aftercare:
        parts.append(f"after each: {_care(aftercare)}")
    if precare:
        parts.append(f"before each: {_care(precare)}")
    if contraindications:
        parts.append(
            "not with "
            + ", ".join(
                condition_label(code)
                if days == 0
                else f"{condition_label(code)} in the last {days} days"
                for code, days in contraindications
            )
        )
    if months and len(set(months)) < 12:
        parts.append(f"only {month_span_text(months)}")
    if phototypes and len(set(phototypes)) < 6:
        parts.append(f"skin types {phototypes_text(frozenset(phototypes))} only")
    return "; ".join(parts)


def phototype_choice(phototype: int) -> str:
    """A skin phototype as a form offers it: 'II: usually burns, tans with difficulty'."""
    return f"{PHOTOTYPE_NUMERALS[phototype]}: {PHOTOTYPE_WORDS[phototype]}"


def describe_procedure(
    *,
    duration_min: int | None,
    buffer_min: int | None,
    qualification: str,
    device_kind: str | None,
    blocked_by: Sequence[str],
) -> str:
    """'45 minutes plus 15 minutes' buffer; needs a practitioner qualified for peel and a
    co2_laser device; not while no_resurfacing is in force'."""
    if not duration_min:
        return ""
    parts = [f"{duration_min} minutes"]
    if buffer_min:
        parts[0] += f" plus {buffer_min} minutes' buffer"
    needs = []
    if qualification:
        needs.append(f"a practitioner qualified for {qualification}")
    if device_kind:
        needs.append(f"a {device_kind} device")
    if needs:
        parts.append("needs " + " and ".join(needs))
    if blocked_by:
        parts.append(f"not while {', '.join(blocked_by)} is in force")
    return "; ".join(parts)


def describe_restriction(*, code: str, text: str, kind: str) -> str:
    if not text:
        return ""
    link = {
        "sun": "; clashes with a client's declared sun exposure",
        "makeup": "; clashes with a client's declared event that needs makeup",
    }.get(kind, "")
    return f"“{text}” ({code or 'no code yet'}){link}"
