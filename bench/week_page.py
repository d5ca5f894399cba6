"""The reception week page against `/healthz`, in one process: CPU time per request.

    cp /tmp/bench-100k.db /tmp/mine.db
    .venv/bin/python bench/week_page.py sqlite:////tmp/mine.db --today 2026-12-07
    .venv/bin/python bench/week_page.py sqlite:////tmp/mine.db --today 2026-12-07 --profile

Logs in as the bench clinic's receptionist (bench/dataset.py) through Flask's test client and
asks for `GET /staff/calendar?view=week` of the eight weeks from `--today`, as bench/run.py
does over HTTP, in rounds interleaved with `GET /healthz`; `time.process_time()`, so what
else the machine runs counts less than with a wall clock. The ratio is this process's own
work: over HTTP (bench/run.py) both requests also pay the server and the network.
`--profile` prints cProfile's view of the week page afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dataset  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="a bench clinic's database (a copy: logging in writes)")
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=20, help="week pages per round")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    from clinic import create_app

    app = create_app(
        "development",
        SQLALCHEMY_DATABASE_URI=args.url,
        RATELIMIT_ENABLED=False,
        WTF_CSRF_ENABLED=False,
    )
    client = app.test_client()
    answer = client.post(
        "/login", data={"email": dataset.RECEPTION_EMAIL, "password": dataset.RECEPTION_PASSWORD}
    )
    if answer.status_code != 302:
        raise SystemExit(f"login refused: {answer.status_code}")

    def week(i: int) -> None:
        day = (args.today + timedelta(days=7 * (i % 8))).isoformat()
        assert client.get(f"/staff/calendar?view=week&day={day}").status_code == 200

    def healthz(i: int) -> None:
        assert client.get("/healthz").status_code == 200

    def cpu_ms(call: Callable[[int], None], n: int) -> float:
        began = time.process_time()
        for i in range(n):
            call(i)
        return (time.process_time() - began) / n * 1000

    for i in range(16):  # warm-up: imports, the catalogue, compiled statements and templates
        week(i)
        healthz(i)
    rounds = [(cpu_ms(healthz, 30), cpu_ms(week, args.per_round)) for _ in range(args.rounds)]
    floor = statistics.median(h for h, _ in rounds)
    page = statistics.median(w for _, w in rounds)
    print(
        f"healthz {floor:.2f} ms, week page {page:.2f} ms (CPU, median of {args.rounds} rounds); "
        f"week page / healthz {page / floor:.1f}x (median of the rounds' ratios "
        f"{statistics.median(w / h for h, w in rounds):.1f}x)"
    )
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for i in range(100):
            week(i)
        profile.disable()
        pstats.Stats(profile).sort_stats(os.environ.get("SORT", "tottime")).print_stats(
            int(os.environ.get("TOP", "25"))
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
