"""The rate limits' shared store (Redis, for several app servers) going away: logins still
answer, counted in each worker's memory until the store is back, never a 500.

Run in a process of its own: the limiter is one object per process, and the store it found
dead would stay dead for the other tests' apps until it checks again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import one_window
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGIN_LIMIT = 10  # POST /api/v1/token: 10 a minute per address

SCRIPT = """
import json, sys
from clinic import create_app
from tests import factories as f
app = create_app("testing", SQLALCHEMY_DATABASE_URI=sys.argv[1], RATELIMIT_ENABLED=True,
                 RATELIMIT_STORAGE_URI=sys.argv[2])
with app.app_context():
    f.make_user("client", email="ada@example.com")
    client = app.test_client()
    body = {"email": "ada@example.com", "password": "not-the-password"}
    print(json.dumps([client.post("/api/v1/token", json=body).status_code
                      for _ in range(int(sys.argv[3]))]))
"""


def test_logins_with_the_redis_store_down_are_still_limited_and_never_500(
    migrated_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.db"
    path.write_bytes(migrated_template.read_bytes())
    nobody_listens = f"redis://127.0.0.1:{free_port()}/0"
    with one_window():  # the whole script: an upper bound on the time its attempts took
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, f"sqlite:///{path}", nobody_listens]
            + [str(LOGIN_LIMIT + 2)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.splitlines()[-1]) == [401] * LOGIN_LIMIT + [429] * 2
