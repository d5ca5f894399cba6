"""A throw-away PostgreSQL server for the tests in this folder.

The server is started once per test session with `initdb` and `pg_ctl` from the system's
PostgreSQL binaries, as the `postgres` user when we are root (CI runs as root and PostgreSQL
refuses to run as root), with its data and socket in a temporary directory, listening on
127.0.0.1 on a free port. The real migrations are run against it, and each test gets the
`app` fixture on that database; the tables are emptied after each test.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from clinic import create_app
from clinic.extensions import db
from tests.conftest import missing

DATABASE = "clinic_test"


@dataclass(frozen=True)
class PgServer:
    bindir: Path
    host: str
    port: int
    datadir: Path
    logfile: Path

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"


def _bindir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def _run(argv: list[str], logfile: Path | None = None) -> None:
    done = subprocess.run(
        _as_postgres(argv), capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        log = logfile.read_text() if logfile is not None and logfile.exists() else ""
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}\n{log}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = _bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        raise AssertionError("unreachable")  # missing() skips or fails
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            missing("running as root but there is no `postgres` user to run PostgreSQL as")
            raise AssertionError("unreachable") from None
        if shutil.which("runuser") is None:
            missing("running as root but `runuser` is not available")
    base = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    datadir, logfile = base / "data", base / "server.log"
    if os.geteuid() == 0:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    base.chmod(0o700)
    server = PgServer(bindir, "127.0.0.1", _free_port(), datadir, logfile)
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
    )
    options = (
        f"-k {base} -h {server.host} -p {server.port} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB"
    )
    try:
        _run(
            [str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(logfile), "-o", options]
            + ["-w", "-t", "60", "start"],
            logfile,
        )
        import psycopg

        with psycopg.connect(
            host=server.host, port=server.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        yield server
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    """The test database, upgraded to head by the real migrations."""
    url = pg_server.url()
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app(pg_url: str) -> Iterator[Flask]:
    """The app on the PostgreSQL test database (it replaces the SQLite `app` in this folder)."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=pg_url)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            _truncate_all()
            db.engine.dispose()
