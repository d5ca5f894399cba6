"""A gunicorn server of the app on the PostgreSQL test database, as in production
(`CLINIC_ENV=production`, several worker processes, each with threads)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time as clock
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from clinic.extensions import db
from tests.conftest import missing
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4


class Server:
    def __init__(self, base: str) -> None:
        self.base = base

    def post(self, path: str, token: str, body: dict[str, object]) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as refused:
            with refused:
                return refused.code, json.loads(refused.read() or b"{}")


@contextmanager
def gunicorn(
    pg_url: str, *, env: Mapping[str, str] | None = None, workers: int = WORKERS
) -> Iterator[Server]:
    """The app under gunicorn on `pg_url`, stopped when the block ends; `env` adds to or
    replaces its environment (e.g. one SECRET_KEY for two servers)."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        missing("gunicorn is not installed in the virtualenv")
    port = free_port()
    env = {
        **os.environ,
        "CLINIC_ENV": "production",
        "DATABASE_URL": pg_url,
        "SECRET_KEY": secrets.token_hex(32),
        **(env or {}),
    }
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [str(gunicorn), "--workers", str(workers), "--threads", "4"]
        + ["--bind", f"127.0.0.1:{port}", "--timeout", "120", "--graceful-timeout", "5"]
        + ["clinic:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = clock.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn stopped:\n{Path(log.name).read_text()}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if clock.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer in 60 s:\n{Path(log.name).read_text()}")
            clock.sleep(0.2)
        yield Server(base)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        os.unlink(log.name)


def at_once(calls: list[Callable[[], tuple[int, object]]]) -> list[tuple[int, object]]:
    """Run every call at the same moment; their answers in order."""
    db.session.remove()  # hold no connection of ours while the server works
    barrier = threading.Barrier(len(calls), timeout=60)
    answers: list[tuple[int, object]] = [(0, {})] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = calls[i]()
        except OSError as exc:  # a connection refused or reset counts as a wrong answer
            answers[i] = (-1, {"error": str(exc)})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return answers
