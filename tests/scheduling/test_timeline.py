"""The care timeline (scheduling/timeline.py): stretches merged across sessions and phases,
what is told on which day, and that no day tells an end the next session contradicts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from clinic.scheduling import CareWindow, TimeRange
from clinic.scheduling.timeline import care_days, care_spans, span_of
from tests.scheduling.builders import NOW, TZ, d, local_at

# (code, phase, hours): the demo catalogue's glycolic course.
GLYCOLIC = [
    ("no_uv", "before", 336),
    ("no_retinoids", "before", 120),
    ("no_uv", "after", 168),
    ("no_makeup", "after", 24),
    ("no_actives", "after", 168),
    ("no_sauna", "after", 48),
    ("no_resurfacing", "after", 336),
]


def windows(start: datetime, rules=GLYCOLIC) -> list[CareWindow]:
    out = []
    for code, phase, hours in rules:
        span = timedelta(hours=hours)
        lo, hi = (start - span, start) if phase == "before" else (start, start + span)
        out.append(CareWindow(code, code.replace("_", " "), "other", phase, TimeRange(lo, hi)))
    return out


def course(starts: list[datetime], rules=GLYCOLIC) -> list[tuple[int, CareWindow]]:
    return [(i, w) for i, start in enumerate(starts, start=1) for w in windows(start, rules)]


def every(days: int, n: int = 6) -> list[datetime]:
    first = local_at(d("2026-02-16"))  # six weeks after the engine's NOW
    return [first + timedelta(days=days * i) for i in range(n)]


def test_no_sun_runs_from_the_first_pre_care_to_the_last_aftercare_three_weeks_apart() -> None:
    starts = every(21)
    spans = [s for s in care_spans(course(starts)) if s.code == "no_uv"]
    assert [(s.start, s.end) for s in spans] == [
        (starts[0] - timedelta(days=14), starts[-1] + timedelta(days=7))
    ]
    assert spans[0].opened_by == 1 and spans[0].last and spans[0].after


def test_a_window_belongs_to_the_stretch_that_holds_it() -> None:
    starts = every(21)
    spans = care_spans(course(starts))
    third_sun = windows(starts[2])[2]
    assert span_of(spans, third_sun).end == starts[-1] + timedelta(days=7)


def test_the_days_told_for_six_sessions_three_weeks_apart() -> None:
    starts = every(21)
    days = care_days(care_spans(course(starts)), now=NOW, tz=TZ)
    told = [(day.day, [s.code for s in day.starts], [s.code for s in day.ends]) for day in days]
    # No sun opens once; no retinoids before each session; nothing ends until the course
    # does (no actives and no sun a week after the last session, no resurfacing two weeks).
    assert told == [
        (d("2026-02-02"), ["no_uv"], []),
        *[
            ((s - timedelta(days=5)).date(), ["no_retinoids"], [])
            for s in (x.astimezone(TZ) for x in starts)
        ],
        ((starts[-1] + timedelta(days=7)).astimezone(TZ).date(), [], ["no_actives", "no_uv"]),
        ((starts[-1] + timedelta(days=14)).astimezone(TZ).date(), [], ["no_resurfacing"]),
    ]


@pytest.mark.parametrize("gap", [14, 21, 28, 42])
def test_no_end_is_told_while_a_window_of_it_is_still_to_come(gap) -> None:
    pairs = course(every(gap))
    for day in care_days(care_spans(pairs), now=NOW, tz=TZ):
        for span in day.ends:
            assert not any(w.code == span.code and w.window.end > span.end for _, w in pairs), (
                day,
                span,
            )
        assert not any(s.short for s in (*day.starts, *day.ends))


def test_a_stretch_of_a_day_or_two_is_never_told_on_a_day_of_its_own() -> None:
    pairs = course(
        [local_at(d("2026-02-16"))], [("no_makeup", "after", 24), ("no_sauna", "after", 48)]
    )
    assert care_days(care_spans(pairs), now=NOW, tz=TZ) == []


def test_a_stretch_of_pre_care_alone_ends_with_its_session_untold() -> None:
    pairs = course([local_at(d("2026-02-16"))], [("no_retinoids", "before", 120)])
    [day] = care_days(care_spans(pairs), now=NOW, tz=TZ)
    assert [s.code for s in day.starts] == ["no_retinoids"] and day.ends == ()


def test_a_stretch_opened_before_now_is_not_told_again() -> None:
    start = local_at(d("2026-01-08"))  # no sun began 14 days before, before NOW
    pairs = course([start], [("no_uv", "before", 336)])
    assert care_days(care_spans(pairs), now=NOW, tz=TZ) == []
