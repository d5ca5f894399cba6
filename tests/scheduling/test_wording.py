"""How the engine words moments: each in the zone it is given, whatever was worded before."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from clinic.scheduling.wording import moment_text


def test_the_same_instant_in_two_zones_is_worded_in_each_zone() -> None:
    instant = datetime(2026, 12, 14, 15, 0, tzinfo=UTC)
    berlin = instant.astimezone(ZoneInfo("Europe/Berlin"))
    new_york = instant.astimezone(ZoneInfo("America/New_York"))
    assert berlin == new_york  # equal instants: a cache keyed by them would mix them up
    assert moment_text(berlin) == "Mon 14 Dec 2026, 16:00"
    assert moment_text(new_york) == "Mon 14 Dec 2026, 10:00"
