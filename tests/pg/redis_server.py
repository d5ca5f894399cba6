"""Start and stop a throw-away Redis server (Debian's `redis-server`) for the tests.

On a free port on 127.0.0.1 (tests/ports.py), its working directory a temporary one, nothing saved to disk
(`--save '' --appendonly no`): the data is thrown away with the server.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time as clock
from dataclasses import dataclass
from pathlib import Path

from tests.pg.server import ServerUnavailable
from tests.ports import free_port


@dataclass(frozen=True)
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int
    workdir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis() -> RedisServer:
    """Start a server; raise `ServerUnavailable` if `redis-server` is not installed."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise ServerUnavailable("redis-server is not installed (apt-get install redis-server)")
    workdir = Path(tempfile.mkdtemp(prefix="clinic-redis-"))
    port = free_port()
    with (workdir / "redis.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
            + ["--save", "", "--appendonly", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = RedisServer(process, port, workdir)
    deadline = clock.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return server
        except OSError:
            pass
        if process.poll() is not None or clock.monotonic() > deadline:
            log = (workdir / "redis.log").read_text(errors="replace")
            stop_redis(server)
            raise RuntimeError(f"redis-server did not start:\n{log}")
        clock.sleep(0.1)


def stop_redis(server: RedisServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
    shutil.rmtree(server.workdir, ignore_errors=True)
