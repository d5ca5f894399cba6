from flask import render_template
from flask_login import login_required

from clinic.auth.access import role_required
from clinic.services import catalogue_queries
from clinic.staff import bp


@bp.route("/")
@login_required
@role_required("admin", "receptionist", "practitioner")
def index():  # type: ignore[no-untyped-def]
    return render_template("staff/index.html", courses=catalogue_queries.list_courses())
