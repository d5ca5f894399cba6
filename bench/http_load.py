"""gunicorn (4 sync workers) on a built database, and a small closed-loop load generator.

The generator runs `concurrency` threads on loopback; each sends one request, reads the whole
answer, and sends the next (http.client, a new connection per request, as gunicorn's sync
workers close it). Endpoints are measured in interleaved slices of a few seconds each, so
that the machine's drift falls on all of them alike and their ratios are fair.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.engine import percentile

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

Request = tuple[str, str, bytes | None, dict[str, str]]


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        n = len(self.latencies_ms)
        return {
            "requests": n,
            "rps": round(n / self.seconds, 1) if self.seconds else 0.0,
            "median_ms": round(statistics.median(self.latencies_ms), 2) if n else None,
            "p95_ms": round(percentile(self.latencies_ms, 0.95), 2) if n else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def request(port: int, req: Request) -> tuple[int, bytes, http.client.HTTPResponse]:
    method, path, body, headers = req
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, data, response
    finally:
        conn.close()


@contextmanager
def gunicorn(
    url: str, *, workers: int = 4, app: str = "clinic:create_app()"
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Serve `app` (ours by default) on `url`'s database; yield the port and the master
    process."""
    port = _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        CLINIC_ENV="development",
        SECRET_KEY="bench-secret-not-for-production",
    )
    gunicorn_bin = str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen(
        [
            gunicorn_bin,
            "--workers",
            str(workers),
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = request(port, ("GET", "/healthz", None, {}))
                if status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        yield port, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def worker_pids(master: int) -> list[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM: the peak resident set size of a process, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def token(port: int, email: str, password: str) -> str:
    body = json.dumps({"email": email, "password": password}).encode()
    status, data, _ = request(
        port, ("POST", "/api/v1/token", body, {"Content-Type": "application/json"})
    )
    if status != 200:
        raise RuntimeError(f"token: {status} {data[:200]!r}")
    return str(json.loads(data)["token"])


def login_cookie(port: int, email: str, password: str) -> str:
    """Log in through the login form (CSRF on, as in the real app); the session cookie."""
    status, data, response = request(port, ("GET", "/login", None, {}))
    cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0]
    found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', data)
    if status != 200 or found is None:
        raise RuntimeError("login page without a CSRF token")
    form = urllib.parse.urlencode(
        {"csrf_token": found.group(1).decode(), "email": email, "password": password}
    ).encode()
    status, data, response = request(
        port,
        (
            "POST",
            "/login",
            form,
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        ),
    )
    if status != 302:
        raise RuntimeError(f"login refused: {status} {data[:300]!r}")
    return (response.getheader("Set-Cookie") or "").split(";", 1)[0]


def load(
    port: int,
    make: Callable[[int], Request | None],
    *,
    seconds: float,
    concurrency: int,
    counter: list[int],
    into: Result,
) -> None:
    """Closed loop: `concurrency` threads send `make(i)` until `seconds` pass (or make gives
    None). `counter` numbers the requests across slices so each gets fresh parameters."""
    load_together([Job(port, make, concurrency, counter, into)], seconds=seconds)


@dataclass
class Job:
    """One closed loop of `load_together`: `concurrency` threads sending `make(i)` to `port`."""

    port: int
    make: Callable[[int], Request | None]
    concurrency: int
    counter: list[int]
    into: Result


def load_together(jobs: list[Job], *, seconds: float) -> None:
    """Run every job's threads at the same time for `seconds` (a job whose `make` gives None
    stops early); each job's `Result` gets its own latencies, statuses and duration."""
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    ended: dict[int, float] = {}

    def loop(job: Job) -> None:
        while time.perf_counter() < stop:
            with lock:
                i = job.counter[0]
                job.counter[0] += 1
            req = job.make(i)
            if req is None:
                break
            t0 = time.perf_counter()
            status, _, _ = request(job.port, req)
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                job.into.latencies_ms.append(ms)
                job.into.statuses[status] = job.into.statuses.get(status, 0) + 1
        with lock:  # the job lasted until its last thread ended
            ended[id(job)] = max(ended.get(id(job), 0.0), time.perf_counter())

    began = time.perf_counter()
    threads = [
        threading.Thread(target=loop, args=(job,)) for job in jobs for _ in range(job.concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for job in jobs:
        job.into.seconds += ended[id(job)] - began


def run_interleaved(
    port: int,
    endpoints: dict[str, Callable[[int], Request | None]],
    *,
    slice_seconds: float,
    rounds: int,
    concurrency: int,
) -> dict[str, Result]:
    """Each endpoint for `slice_seconds`, in turn, `rounds` times."""
    results = {name: Result() for name in endpoints}
    counters = {name: [0] for name in endpoints}
    for make in endpoints.values():  # warm-up: imports, caches, connections
        for i in range(8):
            req = make(10_000_000 + i)
            if req is not None:
                request(port, req)
    for _ in range(rounds):
        for name, make in endpoints.items():
            load(
                port,
                make,
                seconds=slice_seconds,
                concurrency=concurrency,
                counter=counters[name],
                into=results[name],
            )
    return results
