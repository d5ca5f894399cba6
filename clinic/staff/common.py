"""Small helpers shared by the staff views."""

from __future__ import annotations

from datetime import date, datetime, time

from clinic.auth.access import current_actor as current_actor
from clinic.services.core import clinic_setup, date_range


def local_moment(day: date, clock: time) -> datetime:
    """A local date and wall-clock time in the clinic's zone, as an aware datetime."""
    return datetime.combine(day, clock, tzinfo=clinic_setup.clinic_tz())


def today() -> date:
    return date_range.clinic_today()
