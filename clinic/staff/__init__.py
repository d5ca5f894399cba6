from flask import Blueprint

bp = Blueprint("staff", __name__)

from clinic.staff import routes  # noqa: E402,F401
from clinic.staff import audit_routes  # noqa: E402,F401
