"""Shared end-to-end fixtures: a live server on loopback and headless Chromium.

`live_server` serves a fresh app on a temporary SQLite file migrated by the real migrations
(a copy of the session's migrated template), with CSRF on as in production. It yields a
`LiveServer`: `.url` is the base URL, and `with live_server.seed():` runs code in the app's
context to add data (commit it; the server's requests see it at once).

`chromium` starts headless Chromium once per module (Playwright's sync API allows one
running instance per thread, so modules do not share it); `tablet`, `phone` and `desktop` are
fresh contexts (no cookies) with a tablet-, phone- or desktop-sized (1440x900) viewport. If
Chromium cannot start, the test is skipped locally and fails under CI=true
(`tests.conftest.missing`).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from clinic import create_app
from clinic.extensions import db
from tests.conftest import missing

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TABLET = {"width": 1180, "height": 820}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@dataclass
class LiveServer:
    app: Flask
    url: str

    @contextmanager
    def seed(self) -> Iterator[None]:
        """Run set-up code against the server's database (inside the app context)."""
        with self.app.app_context():
            try:
                yield
            finally:
                db.session.remove()


@contextmanager
def serve(db_path: Path, migrated_template: Path) -> Iterator[LiveServer]:
    """A fresh app on a copy of the migrated template at `db_path`, served on loopback."""
    shutil.copy(migrated_template, db_path)
    app = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}", WTF_CSRF_ENABLED=True
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_server(migrated_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    with serve(tmp_path / "live.db", migrated_template) as server:
        yield server


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:  # pragma: no cover - the dev requirements install it
        missing("playwright is not installed")
    if not Path(CHROMIUM).exists():
        missing(f"Chromium is not installed at {CHROMIUM}")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
    except Error as exc:
        playwright.stop()
        missing(f"Chromium could not start: {exc}")
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@pytest.fixture
def tablet(chromium: Any) -> Iterator[Any]:
    """A fresh page (no cookies) with a 1180x820 tablet viewport."""
    context = chromium.new_context(viewport=TABLET, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def desktop(chromium: Any) -> Iterator[Any]:
    """A fresh page (no cookies) with a 1440x900 desktop viewport."""
    context = chromium.new_context(viewport=DESKTOP, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    """A fresh page (no cookies) with a 390x844 phone viewport."""
    context = chromium.new_context(viewport=PHONE, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ (gitignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


# When the browser navigates on while a static file is still streaming, the development
# server drops the connection and leaves the file for the garbage collector; that is the test
# server's housekeeping, not the app's behaviour, so it must not fail a browser test.
DROPPED_CONNECTION = (
    "ignore:Exception ignored in. <_io.FileIO name=.*static:pytest.PytestUnraisableExceptionWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.filterwarnings(DROPPED_CONNECTION))
