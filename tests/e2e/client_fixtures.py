"""Fixtures for the client end-to-end tests: a live server on loopback and headless Chromium
with a phone-sized viewport. (A shared tests/e2e/conftest.py may supersede these.)"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from clinic import create_app
from clinic.extensions import db
from tests import factories as f
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
PHONE = {"width": 390, "height": 844}


@dataclass
class LiveServer:
    app: Flask
    url: str


def seed_clinic() -> None:
    """A clinic open Mon-Sat, one practitioner Mon-Fri 9-17, the 6-session glycolic peel."""
    f.make_clinic(name="Demo Skin Clinic")
    f.make_practitioner(name="Anna Weber")
    f.make_restriction("no_uv", "sun", "Avoid sun and solarium, use SPF 50")
    f.make_restriction("no_makeup", "makeup", "No makeup")
    f.make_restriction("no_resurfacing", "other", "No other peel, laser or microneedling")
    f.make_course(
        name="Glycolic peel, 6 sessions",
        aftercare=[
            ("no_makeup", "makeup", 24),
            ("no_uv", "sun", 168),
            ("no_resurfacing", "other", 336),
        ],
        contraindications=[("active_herpes", 0), ("pregnancy", 0)],
    )


@pytest.fixture(scope="module")
def client_live_server(
    migrated_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("live") / "live.db"
    shutil.copy(migrated_template, path)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", WTF_CSRF_ENABLED=True)
    with app.app_context():
        seed_clinic()
        db.session.remove()
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


@pytest.fixture(scope="module")
def phone_browser() -> Iterator[object]:
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
def phone(phone_browser):  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) with a 390x844 viewport."""
    context = phone_browser.new_context(viewport=PHONE, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
