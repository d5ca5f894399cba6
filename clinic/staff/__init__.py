from flask import Blueprint

bp = Blueprint("staff", __name__)

from clinic.staff import attention_routes, audit_routes, routes  # noqa: E402,F401
