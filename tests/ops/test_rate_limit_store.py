"""The rate limits' shared store (Redis, for several app servers) going away: logins still
answer, counted in each worker's memory until the store is back, never a 500."""

from __future__ import annotations

from pathlib import Path

from clinic import create_app
from clinic.extensions import db
from tests import factories as f
from tests.conftest import fresh_minute
from tests.pg.server import _free_port

LOGIN_LIMIT = 10  # POST /api/v1/token: 10 a minute per address


def test_logins_with_the_redis_store_down_are_still_limited_and_never_500(
    migrated_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.db"
    path.write_bytes(migrated_template.read_bytes())
    nobody_listens = f"redis://127.0.0.1:{_free_port()}/0"
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=nobody_listens,
    )
    with app.app_context():
        f.make_user("client", email="ada@example.com")
        client = app.test_client()
        body = {"email": "ada@example.com", "password": "not-the-password"}
        fresh_minute()
        statuses = [
            client.post("/api/v1/token", json=body).status_code for _ in range(LOGIN_LIMIT + 2)
        ]
        assert statuses == [401] * LOGIN_LIMIT + [429] * 2
        db.session.remove()
        db.engine.dispose()
