"""The client end-to-end tests' clinic: one practitioner and the 6-session glycolic peel,
served once per module (the browser and page fixtures are the shared ones of conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clinic.extensions import db
from tests import factories as f
from tests.e2e.conftest import LiveServer, serve


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
    with serve(tmp_path_factory.mktemp("live") / "live.db", migrated_template) as server:
        with server.app.app_context():
            seed_clinic()
            db.session.remove()
        yield server
