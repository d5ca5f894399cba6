"""Small helpers shared by the staff views."""

from __future__ import annotations

from datetime import date, datetime, time

from flask_login import current_user

from clinic.services.core import clinic_setup, date_range
from clinic.services.core.actors import Actor, actor_for


def current_actor() -> Actor:
    return actor_for(current_user._get_current_object())


def local_moment(day: date, clock: time) -> datetime:
    """A local date and wall-clock time in the clinic's zone, as an aware datetime."""
    return datetime.combine(day, clock, tzinfo=clinic_setup.clinic_tz())


def today() -> date:
    return date_range.clinic_today()
