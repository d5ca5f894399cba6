"""Login loading, the security headers every response carries, and the proxy set-up."""

from __future__ import annotations

from flask import Flask, Response
from sqlalchemy.orm import joinedload
from werkzeug.middleware.proxy_fix import ProxyFix

from clinic.extensions import db, login_manager
from clinic.models import User

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # With the client or practitioner record in the same statement: every page asks next
    # who the user is (services.actors.actor_for).
    user = db.session.get(
        User, int(user_id), options=[joinedload(User.client), joinedload(User.practitioner)]
    )
    return user if user is not None and user.active else None


def register(app: Flask) -> None:
    proxies = int(app.config.get("PROXY_FIX_X_FOR", 0))
    if proxies > 0:
        # Trust that many proxies' X-Forwarded-For and -Proto: the rate limits then see the
        # client's address, not the proxy's, and url_for(_external=True) says https.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."

    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
