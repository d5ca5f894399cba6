from flask import redirect, render_template, url_for

from clinic.booking import bp
from clinic.services import catalogue_queries


@bp.route("/")
def index():  # type: ignore[no-untyped-def]
    return redirect(url_for("booking.courses"))


@bp.route("/courses")
def courses():  # type: ignore[no-untyped-def]
    return render_template("booking/courses.html", courses=catalogue_queries.list_courses())
