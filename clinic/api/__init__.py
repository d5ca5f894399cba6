"""JSON API v1 (the contract of shared/API.md)."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from clinic.api import attention_routes, routes  # noqa: E402,F401
