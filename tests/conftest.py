"""Shared fixtures: an app on a temporary SQLite file migrated to head, and factories."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from clinic import create_app
from clinic.extensions import db


def missing(reason: str) -> None:
    """Skip the calling test, or fail it under CI=true: CI always runs every test."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test but: {reason}")
    pytest.skip(reason)


def fresh_minute(needed: float = 20) -> None:
    """Wait, if need be, until at least `needed` seconds of this clock minute are left: the rate
    limits count in fixed windows of a clock minute, so a test that counts attempts against
    "10 per minute" must not straddle two windows."""
    left = 60 - time.time() % 60
    if left < needed:
        time.sleep(left + 0.2)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file upgraded to head by the real migrations, copied for each test."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture
def app(migrated_template: Path, tmp_path: Path) -> Iterator[Flask]:
    path = tmp_path / "test.db"
    shutil.copy(migrated_template, path)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
