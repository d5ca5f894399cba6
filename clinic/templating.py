"""Jinja filters: dates and durations worded the same way everywhere.

Times are shown in the clinic's time zone as the services read it (its settings, which the
catalogue import can change; the config's CLINIC_TIMEZONE only when there are none): one clock
for pages, emails and .ics files alike.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from clinic.scheduling.wording import day_text, duration_text, moment_text
from clinic.services.core import permissions
from clinic.services.core.clinic_setup import clinic_tz
from clinic.services.messages.wording import session_count


def register(app: Flask) -> None:
    app.add_template_filter(duration_text, "hours_text")
    app.add_template_filter(day_text, "day")
    # "session 5 of 6 (make-up for session 3)": never a stored session number (issue 22).
    app.add_template_filter(session_count, "session_count")
    # Who may see what, asked as the services ask it: `{% if current_user is desk %}`.
    app.add_template_test(permissions.is_admin, "admin")
    app.add_template_test(permissions.is_desk, "desk")
    app.add_template_test(permissions.is_staff, "staff")
    app.add_template_test(permissions.is_practitioner, "practitioner")
    app.add_template_test(permissions.is_client, "client")
    app.add_template_test(permissions.can_edit_catalogue, "catalogue_editor")

    @app.template_filter("moment")
    def moment(value: datetime) -> str:
        return moment_text(value.astimezone(clinic_tz()))

    @app.template_filter("isoday")
    def isoday(value: date) -> str:
        return value.isoformat()
