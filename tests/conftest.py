"""Shared fixtures: one app per worker, each test on a fresh copy of a SQLite file migrated to
head, and factories."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from clinic import create_app
from clinic.extensions import db, limiter

# Modules that take long, mostly waiting on servers, browsers or child processes, the longest
# first (as measured: each takes 20 s to over a minute on a busy machine). With `make test`
# (`--dist loadfile --no-loadscope-reorder`) pytest-xdist hands modules out in collection
# order: these first, so that they start early, then the others by their number of tests, so
# that the many short modules fill the workers' ends. (xdist's own order, by number of tests
# alone, handed these mostly one-test modules out last, and a long one among them set the
# run's end alone.) Only the order changes; a module missing here merely runs later.
LONG_FIRST = (
    "tests/web/test_form_fuzz.py",
    "tests/pg/test_replan_race_http.py",
    "tests/api/test_api_contract.py",
    "tests/scheduling/test_properties.py",
    "tests/pg/test_two_servers_pg.py",
    "tests/pg/test_client_changes_race.py",
    "tests/test_bench_smoke.py",
    "tests/test_bench_load_smoke.py",
    "tests/pg/test_outage_pg.py",
    "tests/e2e/",
    "tests/pg/test_race_http.py",
    "tests/test_health_data_audit.py",
    "tests/pg/",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    def rank(name: str) -> int:
        return next((i for i, p in enumerate(LONG_FIRST) if name.startswith(p)), len(LONG_FIRST))

    tests_in = Counter(module(item) for item in items)
    items.sort(key=lambda item: (rank(module(item)), -tests_in[module(item)]))


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


class ReusedApp:
    """One app for many tests, each on a fresh database: building an app costs more than most
    tests (its URL map is compiled, and every template it renders is compiled again for it),
    and the engine keeps its compiled statements from test to test.

    `fresh()` gives each test what `create_app` would: the configuration as it was made, no
    memory of an earlier test in `app.extensions` (the catalogue and day memories), the
    rate limiter set up for this app again (one limiter object serves every app; the last app
    built configures it), and a database copied from the template (SQLite), or whatever the
    caller resets afterwards (PostgreSQL)."""

    def __init__(self, database_uri: str, **overrides: object) -> None:
        self.app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_uri, **overrides)
        self.config = dict(self.app.config)
        self.extensions = set(self.app.extensions)

    @contextmanager
    def fresh(self, template: Path | None = None) -> Iterator[Flask]:
        app = self.app
        if template is not None:
            path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
            # A new file, not the old one overwritten: a connection some test left open
            # keeps the old file, whatever it does.
            for old in (
                path,
                path.with_name(path.name + "-wal"),
                path.with_name(path.name + "-shm"),
            ):
                old.unlink(missing_ok=True)
            shutil.copy(template, path)
        app.config.clear()
        app.config.update(self.config)
        for key in set(app.extensions) - self.extensions:
            del app.extensions[key]
        limiter.init_app(app)
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


@pytest.fixture(scope="session")
def reused_app(tmp_path_factory: pytest.TempPathFactory) -> ReusedApp:
    path = tmp_path_factory.mktemp("app") / "test.db"
    return ReusedApp(f"sqlite:///{path}")


@pytest.fixture
def app(reused_app: ReusedApp, migrated_template: Path) -> Iterator[Flask]:
    """The app on a fresh copy of the migrated database."""
    with reused_app.fresh(migrated_template) as app:
        yield app


@pytest.fixture
def own_app(migrated_template: Path, tmp_path: Path) -> Iterator[Flask]:
    """An app built for this test alone, for a test that adds a route or a hook: the reused
    `app` has served requests, and Flask then refuses changes to its set-up."""
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
