"""JSON API v1 (the contract of shared/API.md)."""

from flask import Blueprint

bp = Blueprint("api", __name__)

# The operations register in this order, which is the OpenAPI document's: the document first,
# then tokens, the catalogue, clients, courses, appointments, the attention list and
# treatment records.
# isort: off
from clinic.api import errors  # noqa: E402,F401
from clinic.api import auth_routes  # noqa: E402,F401
from clinic.api import catalogue_routes  # noqa: E402,F401
from clinic.api import client_routes  # noqa: E402,F401
from clinic.api import course_routes  # noqa: E402,F401
from clinic.api import appointment_routes  # noqa: E402,F401
from clinic.api import attention_routes  # noqa: E402,F401
from clinic.api import record_routes  # noqa: E402,F401
# isort: on
