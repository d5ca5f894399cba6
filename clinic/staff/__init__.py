from flask import Blueprint

bp = Blueprint("staff", __name__)

from clinic.staff import audit_routes, rest_routes, routes, rules_routes  # noqa: E402,F401
