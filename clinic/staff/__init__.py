from flask import Blueprint

bp = Blueprint("staff", __name__)

from clinic.staff import (  # noqa: E402,F401
    attention_routes,
    audit_routes,
    consent_routes,
    record_routes,
    rest_routes,
    routes,
    rules_routes,
)
