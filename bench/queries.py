"""Count the SQL statements (and time) of one request: POST /api/v1/plans and the week page.

    .venv/bin/python bench/queries.py                  # 100,000 appointments, SQLite and PostgreSQL
    .venv/bin/python bench/queries.py --size 10000 --no-postgresql --show

Builds the bench clinic (bench/dataset.py) on SQLite and on a throw-away PostgreSQL server
(tests/pg/server.py), then sends requests through Flask's test client in this process: no
gunicorn, no network between client and app, so the figures are the app's own work plus its
database round trips. An SQLAlchemy `before_cursor_execute` listener counts the statements of
each request; `--show` prints them (grouped, with how often each ran).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dataset, engine  # noqa: E402


def measure(url: str, ds: dataset.Dataset, *, repeat: int, show: bool) -> dict[str, Any]:
    from sqlalchemy import event

    from clinic import create_app
    from clinic.extensions import db

    app = create_app(
        "development", SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False
    )
    statements: list[str] = []
    days = engine.open_days(ds.today + timedelta(days=1), 60, {6}, frozenset())
    out: dict[str, Any] = {}
    with app.app_context():
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda conn, cursor, sql, params, context, many: statements.append(sql),
        )
    client = app.test_client()
    answer = client.post(
        "/api/v1/token",
        json={"email": dataset.RECEPTION_EMAIL, "password": dataset.RECEPTION_PASSWORD},
    )
    bearer = answer.get_json()["token"]
    client.post(
        "/login",
        data={"email": dataset.RECEPTION_EMAIL, "password": dataset.RECEPTION_PASSWORD},
    )

    def plan(i: int) -> int:
        body = {
            "course": engine.COURSE,
            "client": ds.fresh_clients[i % len(ds.fresh_clients)],
            "earliest": days[(7 * i) % len(days)].isoformat(),
        }
        r = client.post("/api/v1/plans", json=body, headers={"Authorization": f"Bearer {bearer}"})
        return r.status_code

    def week(i: int) -> int:
        day = (ds.today + timedelta(days=7 * (i % 8))).isoformat()
        return client.get(f"/staff/calendar?view=week&day={day}").status_code

    def healthz(i: int) -> int:
        return client.get("/healthz").status_code

    for name, call in (("healthz", healthz), ("plans", plan), ("week", week)):
        call(1000)  # warm-up
        counts: list[int] = []
        times: list[float] = []
        statuses: Counter[int] = Counter()
        grouped: Counter[str] = Counter()
        for i in range(repeat):
            statements.clear()
            t0 = time.perf_counter()
            statuses[call(i)] += 1
            times.append((time.perf_counter() - t0) * 1000)
            counts.append(len(statements))
            grouped.update(" ".join(s.split())[:150] for s in statements)
        out[name] = {
            "statements_median": statistics.median(counts),
            "statements_max": max(counts),
            "median_ms": round(statistics.median(times), 2),
            "statuses": dict(statuses),
        }
        if show:
            print(f"--- {name}: statements per request over {repeat} requests")
            for sql, n in grouped.most_common():
                print(f"{n / repeat:6.1f}  {sql}")
    with app.app_context():
        db.engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--show", action="store_true", help="print the statements")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_sqlite:
            url = f"sqlite:///{tmp}/queries.db"
            ds = dataset.build(url, args.size)
            results["sqlite"] = measure(url, ds, repeat=args.repeat, show=args.show)
    if not args.no_postgresql:
        from tests.pg.server import start_server, stop_server

        server = start_server("bench_queries")
        try:
            ds = dataset.build(server.url("bench_queries"), args.size)
            results["postgresql"] = measure(
                server.url("bench_queries"), ds, repeat=args.repeat, show=args.show
            )
        finally:
            stop_server(server)
    print(f"{'database':>10} {'endpoint':>8} | statements (median, max) | median ms in-process")
    for db_name, figures in results.items():
        for name, f in figures.items():
            print(
                f"{db_name:>10} {name:>8} | {f['statements_median']:>10.0f} {f['statements_max']:>6} "
                f"| {f['median_ms']:>8.2f}   {f['statuses']}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
