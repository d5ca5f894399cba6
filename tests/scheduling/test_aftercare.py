"""What a client is told: the concrete dates of each pre-care and aftercare window."""

from __future__ import annotations

from clinic.scheduling import aftercare_calendar, describe_window

from .builders import PEEL_COURSE, TZ, d, local_at


def test_aftercare_calendar_lists_windows_in_time_order_with_concrete_dates() -> None:
    start = local_at(d("2026-11-26"), 10, 30)
    windows = aftercare_calendar(start=start, course=PEEL_COURSE, tz=TZ)
    assert [(w.code, w.phase) for w in windows] == [
        ("no_uv", "before"),
        ("no_actives", "before"),
        ("no_makeup", "after"),
        ("no_resurfacing", "after"),
        ("no_uv", "after"),
    ]
    texts = [describe_window(w, TZ) for w in windows]
    assert texts[0] == "Avoid sun from Thu 12 Nov 2026"
    assert texts[1] == "Stop retinoids from Sat 21 Nov 2026"
    assert texts[2] == "No makeup until Fri 27 Nov 2026, 10:30"
    assert texts[4] == "Avoid sun until Thu 3 Dec 2026, 10:30"
