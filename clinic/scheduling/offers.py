"""Offers that hold: the starts of a day that a change would accept.

A page or the API offers the starts of a day, and "Confirm" then judges the chosen one with
the change's own check (a move, a session of a proposal, a booking). `offer_day` asks that
very check about each free start, so an offer and its confirmation cannot disagree: the day's
resources are built once and shared with every call of the check, and the caller loads the
snapshot and the client's state once for the whole day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from clinic.scheduling.resources import DayResources, Snapshot, day_resources
from clinic.scheduling.types import CheckResult, ProcedureRules, Slot, Violation
from clinic.scheduling.wording import day_text

# The change's check for one candidate: the free slot found at a start, and the day resources
# to share (check_course's `days`).
Judge = Callable[[Slot, dict[date, DayResources]], CheckResult]


@dataclass(frozen=True, slots=True)
class DayOffer:
    """The slots of a day the change accepts (as its check chose them) and, when there are
    none, a sentence saying why; `also`: starts the change accepts only with more changes
    (a move that pushes later sessions, which the person then sees and accepts or not)."""

    day: date
    slots: tuple[Slot, ...]
    why_none: str | None = None
    also: tuple[Slot, ...] = ()


def offer_day(
    *,
    snapshot: Snapshot,
    procedure: ProcedureRules,
    day: date,
    now: datetime,
    judge: Judge,
    replacing: frozenset[int] = frozenset(),
    practitioner_id: int | None = None,
    each_practitioner: bool = False,
    fallback: Judge | None = None,
) -> DayOffer:
    """The starts of local `day` after `now` that `judge` accepts.

    The candidates are the day's free slots (`replacing`: appointments the change frees, such
    as the session being moved); a start with no free slot is refused by any check, so it is
    not asked. With `each_practitioner`, each free practitioner at a start is a candidate of
    its own (an availability list); without, each start is asked once, with its first free
    slot, and the judge picks the practitioner as the change would. `fallback`: a second
    check for the starts `judge` refuses (with day resources of its own: it may free more);
    those it accepts are offered apart, in `also`.
    """
    resources = day_resources(snapshot, procedure, day, replacing)
    days = {day: resources}
    candidates = [s for s in resources.slots(practitioner_id) if s.start > now]
    if not each_practitioner:
        firsts: dict[datetime, Slot] = {}
        for slot in candidates:
            firsts.setdefault(slot.start, slot)
        candidates = list(firsts.values())
    fallback_days: dict[date, DayResources] = {}
    accepted: list[Slot] = []
    also: list[Slot] = []
    refusals: list[tuple[Violation, ...]] = []
    for candidate in candidates:
        result = judge(candidate, days)
        if result.ok:
            accepted.append(_slot_at(result, candidate.start))
            continue
        refusals.append(result.violations)
        if fallback is not None:
            second = fallback(candidate, fallback_days)
            if second.ok:
                also.append(_slot_at(second, candidate.start))
    why_none = None if accepted else _why_none(resources, refusals)
    return DayOffer(day, tuple(accepted), why_none, tuple(also))


def _slot_at(result: CheckResult, start: datetime) -> Slot:
    """The check's slot for this start (a course's check answers for all its sessions)."""
    return next(s for s in result.slots if s.start == start)


def _why_none(resources: DayResources, refusals: list[tuple[Violation, ...]]) -> str:
    """The reason a day offers nothing: closed, fully taken, or the rule that refused the
    most of its free starts (the first met among equals)."""
    when = day_text(resources.day)
    if resources.holiday:
        return f"The clinic is closed on {when} (holiday)."
    if not resources.starts():
        return f"The clinic is closed on {when}."
    counts: Counter[str] = Counter()
    for violations in refusals:
        counts.update(list(dict.fromkeys(v.message for v in violations if not v.conflict)))
    if not counts:
        return f"No free time is left on {when}."
    message = max(counts, key=lambda m: counts[m])  # Counter keeps the order first met
    return f"No time on {when} fits: {message}"
