from flask import Blueprint

bp = Blueprint("booking", __name__)

# One blueprint, its pages grouped by what the client is doing.
from clinic.booking import (  # noqa: E402,F401
    consent_routes,
    photo_routes,
    plan_routes,
    rest_routes,
    routes,
    screening_routes,
    session_routes,
)
