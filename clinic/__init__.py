"""Clinic Scheduler: the application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask


def create_app(config_name: str | None = None, **overrides: Any) -> Flask:
    """Build the app for `config_name` (development, testing, production; default from
    `CLINIC_ENV`), with `overrides` applied last."""
    from clinic import cli, dbsetup, errors, security, templating
    from clinic.extensions import csrf, db, limiter, login_manager, migrate
    from config import CONFIGS, DEV_SECRET

    name = config_name or os.environ.get("CLINIC_ENV", "development")
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="static",
        instance_relative_config=False,
    )
    app.config.from_object(CONFIGS[name])
    app.config.update(overrides)
    secret = app.config["SECRET_KEY"] or ""
    if name == "production" and (secret == DEV_SECRET or len(secret) < 32):
        raise RuntimeError(
            "SECRET_KEY must be set to a real secret of at least 32 characters in production "
            "(e.g. python3 -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(os.path.join(app.root_path, "..", "instance"), exist_ok=True)

    # Its engine listeners are installed on import; the busy timeout comes from the config.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dbsetup.engine_options(app.config)
    db.init_app(app)
    migrate.init_app(
        app, db, directory=os.path.join(app.root_path, "..", "migrations"), render_as_batch=True
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from clinic.api import bp as api_bp
    from clinic.auth import bp as auth_bp
    from clinic.booking import bp as booking_bp
    from clinic.health import bp as health_bp
    from clinic.staff import bp as staff_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(booking_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    errors.register(app)
    templating.register(app)
    security.register(app)
    cli.register(app)
    return app
