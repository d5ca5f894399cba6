"""Shared fixtures: an app on a temporary SQLite file migrated to head, and factories."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def one_window(seconds: float = 60) -> Iterator[None]:
    """Around attempts counted against a "10 per minute" limit on a fresh key.

    The limits (the `limits` package's fixed window, in memory or in Redis) open a key's
    window at its first hit and keep it `seconds`, whatever the clock says: attempts all made
    within that time of the first are counted together, so the test needs no particular
    moment to start (no waiting for a fresh clock minute). What it needs is to finish in time,
    which a machine busy with other tests (pytest -n 2) could in principle prevent: if the block
    failed and took that long, the failure says so instead of blaming the counts."""
    start = time.monotonic()
    try:
        yield
    except AssertionError as exc:
        took = time.monotonic() - start
        if took >= seconds:
            raise AssertionError(
                f"the attempts took {took:.0f} s, longer than the limit's {seconds:.0f} s window "
                "(an overloaded machine): their counts cannot be judged"
            ) from exc
        raise


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
