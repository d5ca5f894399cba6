"""Start and stop a throw-away PostgreSQL server (used by tests/pg/conftest.py and bench/).

`initdb` and `pg_ctl` from the system's PostgreSQL binaries, run as the `postgres` user when
we are root (CI runs as root and PostgreSQL refuses to run as root), with the data and the
socket in a temporary directory, listening on 127.0.0.1 on a free port (tests/ports.py: a range
of its own per xdist worker), tuned for speed rather than durability (fsync off): the data is
thrown away afterwards. Under xdist each worker is a session of its own, so each starts its own
server: nothing is shared between workers but the binaries.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from tests.ports import free_port

DATABASE = "clinic_test"


class ServerUnavailable(RuntimeError):
    """This machine cannot run a throw-away PostgreSQL server (the message says why)."""


@dataclass(frozen=True)
class PgServer:
    bindir: Path
    host: str
    port: int
    datadir: Path
    logfile: Path
    options: str = ""

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


def start_server(database: str = DATABASE, *, extra_options: str = "") -> PgServer:
    """Start a server with an empty `database`; raise `ServerUnavailable` if this machine
    cannot (no binaries, or root without a `postgres` user or `runuser`)."""
    bindir = _bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        raise ServerUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise ServerUnavailable(
                "running as root but there is no `postgres` user to run PostgreSQL as"
            ) from None
        if shutil.which("runuser") is None:
            raise ServerUnavailable("running as root but `runuser` is not available")
    base = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    datadir, logfile = base / "data", base / "server.log"
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    base.chmod(0o700)
    server = PgServer(bindir, "127.0.0.1", free_port(), datadir, logfile)
    try:
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
            "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB " + extra_options
        )
        _run(
            [str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(logfile), "-o", options]
            + ["-w", "-t", "60", "start"],
            logfile,
        )
        server = replace(server, options=options)
        import psycopg

        with psycopg.connect(
            host=server.host, port=server.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {database}")
    except BaseException:
        stop_server(server)
        raise
    return server


def pause_server(server: PgServer) -> None:
    """Shut the server down as an administrator would (`pg_ctl stop -m fast`: open
    transactions are rolled back, connections closed), keeping its data for `resume_server`."""
    _run([str(server.bindir / "pg_ctl"), "-D", str(server.datadir), "-m", "fast", "-w", "stop"])


def resume_server(server: PgServer) -> None:
    """Start a server stopped by `pause_server` again, on the same port with the same data."""
    _run(
        [str(server.bindir / "pg_ctl"), "-D", str(server.datadir), "-l", str(server.logfile)]
        + ["-o", server.options, "-w", "-t", "60", "start"],
        server.logfile,
    )


def stop_server(server: PgServer) -> None:
    """Stop the server at once and delete its data."""
    subprocess.run(
        _as_postgres(
            [str(server.bindir / "pg_ctl"), "-D", str(server.datadir), "-m", "immediate", "stop"]
        ),
        capture_output=True,
        timeout=60,
        check=False,
    )
    shutil.rmtree(server.datadir.parent, ignore_errors=True)
