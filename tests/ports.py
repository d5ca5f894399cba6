"""Free TCP ports on loopback for the test servers (PostgreSQL, Redis, gunicorn, SMTP).

Each pytest-xdist worker takes its ports from a range of its own, below the kernel's ephemeral
ports (32768 and up on Linux): a port one worker picks is never picked by the other before its
server is listening (PostgreSQL's `initdb` takes seconds between the pick and the `listen`),
nor handed out by the kernel to an outgoing connection meanwhile, and a port a test keeps free
on purpose ("nobody listens here") stays free. Within a range the ports are taken in turn from
a random start, so two test runs side by side on one machine rarely meet either; a port that
is taken (something listens, or it is in TIME_WAIT) is skipped.
"""

from __future__ import annotations

import itertools
import os
import random
import socket

FIRST = 20_000
SPAN = 1_000  # ports per worker
RANGES = 12  # 20000-31999: below the ephemeral ports


def worker_index() -> int:
    """0 without xdist, else 1 + the worker's number (`gw0` -> 1)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) + 1 if worker.startswith("gw") else 0


def _ports() -> itertools.cycle[int]:
    base = FIRST + SPAN * (worker_index() % RANGES)
    start = random.randrange(SPAN)  # noqa: S311 - spreading, not security
    return itertools.cycle([base + (start + i) % SPAN for i in range(SPAN)])


_next: itertools.cycle[int] | None = None


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, from this worker's range."""
    global _next
    if _next is None:  # on first use: xdist names the worker before the tests run
        _next = _ports()
    for _ in range(SPAN):
        port = next(_next)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in this worker's range from {FIRST}")
