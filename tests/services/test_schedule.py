"""The reception calendar's local times: converted once per distinct stored moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.services.courses import schedule
from clinic.services.courses.schedule import _LocalTimes, clock
from tests.clock import BERLIN


def _moments(around: datetime) -> list[datetime]:
    """Every 5 minutes from a day before to a day after `around` (UTC, aware)."""
    return [around + timedelta(minutes=5 * i) for i in range(-288, 289)]


@pytest.mark.parametrize(
    "change",
    [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)],
    ids=["spring forward", "fall back"],
)
def test_stored_times_become_the_clinics_local_time_across_a_dst_change(change) -> None:
    local = _LocalTimes(BERLIN)
    for moment in _moments(change):
        naive = str(moment.replace(tzinfo=None))  # as SQLite's driver gives it back
        expected = moment.astimezone(BERLIN)
        for stored in (naive, moment):  # SQLite, PostgreSQL
            got = local[stored]
            assert got == expected
            assert (got.utcoffset(), got.hour, got.minute) == (
                expected.utcoffset(),
                expected.hour,
                expected.minute,
            )


def test_stored_times_keep_their_microseconds() -> None:
    moment = datetime(2026, 7, 1, 8, 59, 59, 999_999)
    assert _LocalTimes(BERLIN)[str(moment)] == moment.replace(tzinfo=UTC)


def test_kept_local_times_start_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule, "_LOCAL_TIMES_KEPT", 3)
    local = _LocalTimes(BERLIN)
    moments = _moments(datetime(2026, 3, 29, 1, tzinfo=UTC))[:10]
    for moment in moments:
        assert local[str(moment.replace(tzinfo=None))] == moment
        assert len(local) <= 3
    assert local[str(moments[0].replace(tzinfo=None))].astimezone(UTC) == moments[0]


def test_local_times_are_kept_per_time_zone() -> None:
    stored = "2026-07-01 08:00:00.000000"
    assert schedule._local_times(BERLIN) is schedule._local_times(BERLIN)
    assert schedule._local_times(BERLIN)[stored].hour == 10
    assert schedule._local_times(ZoneInfo("Europe/London"))[stored].hour == 9


def test_clock_reads_like_strftime() -> None:
    for minute in range(0, 24 * 60, 7):
        moment = datetime(2026, 7, 1, minute // 60, minute % 60, tzinfo=BERLIN)
        assert clock(moment) == moment.strftime("%H:%M")
