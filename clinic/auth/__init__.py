from flask import Blueprint

bp = Blueprint("auth", __name__)

from clinic.auth import message_routes, routes  # noqa: E402,F401
