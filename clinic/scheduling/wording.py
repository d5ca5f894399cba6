"""How the engine words dates, durations and conditions for a client."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

CONDITION_LABELS = {
    "isotretinoin": "isotretinoin (Roaccutane)",
    "pregnancy": "pregnancy or breastfeeding",
    "rosacea": "rosacea",
    "active_herpes": "an active cold sore (herpes)",
    "active_inflammation": "active skin inflammation",
    "recent_tan": "a recent tan",
    "pacemaker": "a pacemaker",
}


def condition_label(code: str) -> str:
    return CONDITION_LABELS.get(code, code.replace("_", " "))


# The Fitzpatrick skin phototypes as the screening asks about them, in plain words.
PHOTOTYPE_WORDS = {
    1: "always burns, never tans",
    2: "usually burns, tans with difficulty",
    3: "sometimes burns, tans gradually",
    4: "rarely burns, tans easily",
    5: "very rarely burns, tans very easily",
    6: "never burns, deeply pigmented skin",
}
PHOTOTYPE_NUMERALS = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}


def phototype_label(phototype: int) -> str:
    """'skin type V (very rarely burns, tans very easily)'."""
    return f"skin type {PHOTOTYPE_NUMERALS[phototype]} ({PHOTOTYPE_WORDS[phototype]})"


def phototypes_text(phototypes: frozenset[int]) -> str:
    """'I to IV' for a run, 'I, III and V' otherwise, 'II' for one."""
    ordered = sorted(phototypes)
    names = [PHOTOTYPE_NUMERALS[p] for p in ordered]
    if len(ordered) > 2 and ordered[-1] - ordered[0] == len(ordered) - 1:
        return f"{names[0]} to {names[-1]}"
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


@lru_cache(maxsize=4096)
def day_text(d: date) -> str:
    """'Sat 22 Nov 2026'."""
    return f"{d:%a} {d.day} {d:%b %Y}"


def long_day_text(d: date) -> str:
    """'3 March 2027'."""
    return f"{d.day} {d:%B %Y}"


def moment_text(dt: datetime) -> str:
    """'Thu 27 Nov 2026, 10:30' (dt already in the clinic's time zone)."""
    return f"{day_text(dt.date())}, {dt:%H:%M}"


def duration_text(hours: int) -> str:
    """'24 hours', '7 days', '2 weeks'; whole days and weeks where they are exact."""
    if hours % 168 == 0 and hours >= 336:
        weeks = hours // 168
        return f"{weeks} weeks"
    if hours % 24 == 0 and hours >= 48:
        return f"{hours // 24} days"
    return f"{hours} hour{'s' if hours != 1 else ''}"
