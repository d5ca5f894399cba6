"""The client's entry pages: the catalogue of courses, the template helpers of every client
page, and (for the admin or development) the outbox."""

from __future__ import annotations

import calendar
from datetime import datetime

from flask import abort, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from clinic.auth.access import login_required
from clinic.booking import bp
from clinic.booking.common import current_actor
from clinic.models import utcnow
from clinic.scheduling.wording import condition_label
from clinic.services.catalogue import catalogue_queries
from clinic.services.core import clinic_setup, permissions
from clinic.services.messages import outbox
from clinic.services.people import booking_choices, clients
from clinic.services.world import course_catalogue, screening

# --- catalogue ---------------------------------------------------------------------------------


@bp.route("/")
def index() -> ResponseReturnValue:
    if permissions.is_client(current_user):
        return redirect(url_for("booking.my_sessions"))
    return redirect(url_for("booking.courses"))


@bp.route("/courses")
def courses() -> ResponseReturnValue:
    rows = catalogue_queries.list_courses()
    outlook, screening_problem = {}, None
    if permissions.is_client(current_user):
        client = clients.get_client(actor=current_actor())
        outlook = booking_choices.course_outlook(client, rows)
        screening_problem = screening.screening_violation(client, utcnow())
    return render_template(
        "booking/courses.html",
        courses=rows,
        outlook=outlook,
        screening_problem=screening_problem,
        price_text=course_catalogue.price_text,
    )


# --- development: the outbox on a page instead of sent -----------------------------------------


@bp.route("/dev/outbox")
@login_required
def dev_outbox() -> ResponseReturnValue:
    if not (current_app.debug or permissions.is_admin(current_user)):
        abort(403, "The outbox page is for the clinic's admin (or development).")
    return render_template(
        "booking/dev_outbox.html",
        messages=outbox.list_messages(),
        smtp=bool(current_app.config.get("SMTP_HOST")),
    )


# --- template helpers of the client pages ------------------------------------------------------


@bp.app_template_filter("clock")
def clock(value: datetime) -> str:
    """'10:30' in the clinic's time zone."""
    return f"{value.astimezone(clinic_setup.clinic_tz()):%H:%M}"


@bp.app_context_processor
def client_page_helpers() -> dict[str, object]:
    return {
        "condition_label": condition_label,
        "month_names": {m: calendar.month_name[m] for m in range(1, 13)},
    }
