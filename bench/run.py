"""`make bench`: build the bench clinic at 1,000 / 10,000 / 100,000 appointments and measure.

Prints a table and PASS/FAIL per target, and writes everything to bench/results/latest.json.
See bench/README.md for what each figure means and the latest results.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dataset, engine, http_load, lifetime, mixed  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SIZES = (1_000, 10_000, 100_000)
HTTP_SIZES = (10_000, 100_000)
# Planning's growth with the database: 10,000 -> 100,000 appointments, once with a denser
# window (more live sessions ahead) and once with the same window (the growth is history).
GROWTH = (10_000, 100_000)
# Issue 13's mixed load (bench/mixed.py) runs on the largest clinic.
MIXED_SIZE = 100_000


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "system": platform.platform(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --- HTTP ---------------------------------------------------------------------------------------


def http_figures(
    url: str, ds: dataset.Dataset, *, full: bool, slice_seconds: float, rounds: int
) -> dict[str, Any]:
    """One gunicorn run: the endpoints interleaved, then bookings, then the workers' memory."""
    days = engine.open_days(ds.today + timedelta(days=1), 60, {6}, frozenset())
    # Plans go to the first half of the new clients, bookings to the other half, so that the
    # clients planned for here and in the growth figures after this run stay without sessions.
    half = len(ds.fresh_clients) // 2
    fresh, booking_clients = ds.fresh_clients[:half], ds.fresh_clients[half:]
    slots = mixed.enrolment_slots(url, ds, 3000) if full else []
    with http_load.gunicorn(url) as (port, proc):
        bearer = http_load.token(port, dataset.RECEPTION_EMAIL, dataset.RECEPTION_PASSWORD)
        api = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}

        def healthz(i: int) -> http_load.Request:
            return ("GET", "/healthz", None, {})

        def availability(i: int) -> http_load.Request:
            day = days[i % len(days)].isoformat()
            return ("GET", f"/api/v1/availability?procedure=glycolic_peel&date={day}", None, api)

        def plans(i: int) -> http_load.Request:
            body = {
                "course": engine.COURSE,
                "client": fresh[i % len(fresh)],
                "earliest": days[(7 * i) % len(days)].isoformat(),
            }
            return ("POST", "/api/v1/plans", json.dumps(body).encode(), api)

        endpoints = {"healthz": healthz, "plans": plans}
        if full:
            cookie = http_load.login_cookie(
                port, dataset.RECEPTION_EMAIL, dataset.RECEPTION_PASSWORD
            )

            def week(i: int) -> http_load.Request:
                day = (ds.today + timedelta(days=7 * (i % 8))).isoformat()
                return ("GET", f"/staff/calendar?view=week&day={day}", None, {"Cookie": cookie})

            endpoints = {
                "healthz": healthz,
                "availability": availability,
                "plans": plans,
                "week": week,
            }
        results = http_load.run_interleaved(
            port, endpoints, slice_seconds=slice_seconds, rounds=rounds, concurrency=4
        )
        if full:

            def enrol(i: int) -> http_load.Request | None:
                if i >= len(slots):
                    return None
                start, practitioner = slots[i]
                body = {
                    "course": "kinesio_single",
                    "client": booking_clients[i % len(booking_clients)],
                    "sessions": [{"start": start, "practitioner": practitioner}],
                }
                return ("POST", "/api/v1/enrolments", json.dumps(body).encode(), api)

            results["enrolments"] = http_load.Result()
            http_load.load(
                port,
                enrol,
                seconds=slice_seconds * 1.5,
                concurrency=4,
                counter=[0],
                into=results["enrolments"],
            )
        workers = http_load.worker_pids(proc.pid)
        rss = [http_load.peak_rss_mib(pid) for pid in workers]
    out: dict[str, Any] = {name: r.as_json() for name, r in results.items()}
    out["worker_peak_rss_mib"] = [round(m, 1) for m in rss if m is not None]
    return out


# --- the table and the targets ------------------------------------------------------------------


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(res: dict[str, Any]) -> str:
    lines: list[str] = []
    if res["sqlite"]:
        lines += _engine_table(res)
    return "\n".join(lines + _http_table(res))


def _engine_table(res: dict[str, Any]) -> list[str]:
    lines = []
    lines.append("Engine only (no database; every live appointment in memory), ms")
    lines.append(
        f"{'appointments':>12} {'live':>7} | {'availability':>18} | {'check 6 sessions':>18} | "
        f"{'plan 6 sessions':>18} | {'plan, client w/ history':>23} | {'peak KiB (a/c/p)':>17}"
        f" | {'plan, cold':>18}"
    )
    for size, r in res["sqlite"].items():
        e = r["engine"]
        a, c, p, pb = (
            e["availability"],
            e["check_course"],
            e["plan_course"],
            e["plan_course_client_with_history"],
        )
        lines.append(
            f"{size:>12} {r['dataset']['live']:>7} | "
            f"{_fmt(a['median_ms'], 2):>8} p95 {_fmt(a['p95_ms'], 2):>5} | "
            f"{_fmt(c['median_ms'], 2):>8} p95 {_fmt(c['p95_ms'], 2):>5} | "
            f"{_fmt(p['median_ms'], 2):>8} p95 {_fmt(p['p95_ms'], 2):>5} | "
            f"{_fmt(pb['median_ms'], 2):>10} p95 {_fmt(pb['p95_ms'], 1):>8} | "
            f"{_fmt(a['peak_kib'], 0)}/{_fmt(c['peak_kib'], 0)}/{_fmt(p['peak_kib'], 0):>5} | "
            f"{_fmt(e['plan_course_cold']['median_ms'], 2):>8} p95 "
            f"{_fmt(e['plan_course_cold']['p95_ms'], 2):>5}"
        )
    lines.append("")
    lines.append(
        "Service: plan_course_for with the database load (SQLite), ms; cold: nothing kept by "
        "the worker"
    )
    for size, r in res["sqlite"].items():
        s, sb = r["service"]["plan_course_for"], r["service"]["plan_course_for_client_with_history"]
        sc = r["service"]["plan_course_for_cold"]
        lines.append(
            f"{size:>12} | new client: median {_fmt(s['median_ms'], 2):>6} p95 "
            f"{_fmt(s['p95_ms'], 2):>6} | client with history: median "
            f"{_fmt(sb['median_ms'], 2):>6} p95 {_fmt(sb['p95_ms'], 1):>7} | "
            f"new client, cold: median {_fmt(sc['median_ms'], 2):>6} p95 {_fmt(sc['p95_ms'], 2):>6}"
        )
    return lines


def _http_table(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for db_name in ("http_sqlite", "http_postgresql"):
        if not res.get(db_name) or "skipped" in res[db_name]:
            continue
        lines.append("")
        lines.append(
            f"HTTP, gunicorn 4 workers, {db_name.split('_')[1]}, 4 concurrent clients on loopback"
        )
        lines.append(
            f"{'appointments':>12} {'endpoint':>13} | {'req/s':>7} | {'median ms':>9} | "
            f"{'p95 ms':>7} | statuses"
        )
        for size, r in res[db_name].items():
            for name, f in r.items():
                if name == "worker_peak_rss_mib":
                    continue
                lines.append(
                    f"{size:>12} {name:>13} | {_fmt(f['rps']):>7} | {_fmt(f['median_ms'], 2):>9} | "
                    f"{_fmt(f['p95_ms'], 2):>7} | {f['statuses']}"
                )
            lines.append(f"{size:>12} worker peak RSS MiB: {r['worker_peak_rss_mib']}")
    for db_name, growth in (res.get("growth") or {}).items():
        lines.append("")
        lines.append(
            f"Planning a 6-session course for a new client as the database grows ({db_name}), "
            "ms, interleaved"
        )
        lines.append(
            f"{'appointments':>28} {'live ahead':>10} | {'engine plan':>18} | "
            f"{'plan_course_for':>18} | ratio to {GROWTH[0]} (engine / service)"
        )
        ahead = {
            str(GROWTH[0]): res["sqlite"].get(GROWTH[0], {}).get("dataset", {}).get("live_ahead"),
            f"{GROWTH[1]} denser window": res["sqlite"]
            .get(GROWTH[1], {})
            .get("dataset", {})
            .get("live_ahead"),
            f"{GROWTH[1]} same window": (res.get("growth_datasets") or {})
            .get("history", {})
            .get("live_ahead"),
        }
        base = growth[str(GROWTH[0])]
        for label, f in growth.items():
            e, sv = f.get("plan_course"), f["plan_course_for"]
            e_text = f"{_fmt(e['median_ms'], 2):>8} p95 {_fmt(e['p95_ms'], 2):>5}" if e else "-"
            ratio_e = (
                f"{e['median_ms'] / base['plan_course']['median_ms']:.2f}" if e is not None else "-"
            )
            ratio_s = f"{sv['median_ms'] / base['plan_course_for']['median_ms']:.2f}"
            lines.append(
                f"{label:>28} {_fmt(ahead.get(label)):>10} | {e_text:>18} | "
                f"{_fmt(sv['median_ms'], 2):>8} p95 {_fmt(sv['p95_ms'], 2):>5} | "
                f"{ratio_e} / {ratio_s}"
            )
    return lines


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def target(
        name: str, value: float | None, limit: float, unit: str = "x", *, at_least: bool = False
    ) -> None:
        if at_least:
            ok = value is not None and value >= limit
        else:
            ok = value is not None and value < limit
        out.append(
            {
                "target": name,
                "value": value,
                "limit": f"at least {limit}" if at_least else limit,
                "unit": unit,
                "pass": ok,
            }
        )

    mixed_targets(res.get("mixed") or {}, target)
    sq = res["sqlite"]
    if not sq:
        return out
    big = max(sq)
    target(
        f"plan 6 sessions incl. database load, cold (nothing kept), p95 at {big} (SQLite)",
        sq[big]["service"]["plan_course_for_cold"]["p95_ms"],
        50,
        "ms",
    )
    # Planning's growth from the interleaved rounds (engine.plan_growth), where the machine's
    # drift falls on both sizes alike; the per-size runs above are minutes apart.
    for db_name, growth in (res.get("growth") or {}).items():
        small = str(GROWTH[0])
        names = ["plan_course", "plan_course_for"] if db_name == "sqlite" else ["plan_course_for"]
        for window in ("denser window", "same window"):
            for name in names:
                what = (
                    "engine plan" if name == "plan_course" else "service plan incl. database load"
                )
                where = "" if name == "plan_course" else f" ({db_name})"
                grown = growth[f"{GROWTH[1]} {window}"][name]["median_ms"]
                target(
                    f"{what}, {window}, median {GROWTH[0]} -> {GROWTH[1]}{where}",
                    round(grown / growth[small][name]["median_ms"], 2),
                    1.5,
                )
    for db_name in ("http_sqlite", "http_postgresql"):
        runs = res.get(db_name) or {}
        if not runs:
            continue
        label = db_name.split("_")[1]
        top = runs[max(runs)]
        health = top["healthz"]["median_ms"]
        target(
            f"HTTP {label}: POST /plans / GET /healthz, median, at {max(runs)}",
            round(top["plans"]["median_ms"] / health, 2),
            3.0,
        )
        target(
            f"HTTP {label}: POST /plans / GET /healthz, p95, at {max(runs)}",
            round(top["plans"]["p95_ms"] / top["healthz"]["p95_ms"], 2),
            5.0,
        )
        target(
            f"HTTP {label}: one day's availability / GET /healthz, median, at {max(runs)}",
            round(top["availability"]["median_ms"] / health, 2),
            2.0,
        )
        if "week" in top:
            target(
                f"HTTP {label}: week page / GET /healthz, median, at {max(runs)}",
                round(top["week"]["median_ms"] / health, 2),
                4.0,
            )
        if len(runs) > 1:
            low = runs[min(runs)]
            target(
                f"HTTP {label}: POST /plans median, denser window, {min(runs)} -> {max(runs)}",
                round(top["plans"]["median_ms"] / low["plans"]["median_ms"], 2),
                1.2,
            )
        rss = [m for r in runs.values() for m in r["worker_peak_rss_mib"]]
        target(
            f"HTTP {label}: peak RSS of a worker under load", max(rss) if rss else None, 150, "MiB"
        )
        # A change of the world and the attention list, measured in process on the same
        # clinic (bench/lifetime.py), against this run's HTTP /healthz at that size.
        world = (res.get("lifetime") or {}).get(label) or {}
        for name, what in (
            ("dry_run_day", "time-off dry run of a day"),
            ("attention_list", "attention list"),
        ):
            if name in world:
                target(
                    f"{label}: {what} ({world[name].get('in_scope', world[name].get('flagged'))} "
                    f"sessions, in process) / HTTP GET /healthz, median, at {max(runs)}",
                    round(world[name]["median_ms"] / health, 2),
                    20.0,
                )
    return out


def mixed_targets(mixed_res: dict[str, Any], target: Any) -> None:
    """The mixed load's targets (issues 13 and 20), on each database measured."""
    for db_name in ("sqlite", "postgresql"):
        found = mixed_res.get(db_name) or {}
        if "ratios" not in found:
            continue
        ra = found["ratios"]
        target(
            f"mixed load ({db_name}): POST /plans p95 / GET /healthz p95, same run",
            ra["mixed_plan_p95_over_healthz_p95"],
            5.0,
        )
        target(
            f"mixed load ({db_name}): bookings flowing meanwhile, per second",
            found["mixed_bookings"]["bookings_per_s"],
            15.0,
            "/s",
            at_least=True,
        )
        target(
            f"bookings ({db_name}): 8 desks / 1 desk, bookings per second",
            ra["desks_8_over_desk_1"],
            1.5,
            at_least=True,
        )
        refused = sum(found[k]["not_201"] for k in ("mixed_bookings", "desk_1", "desks_8"))
        target(f"bookings ({db_name}): answers other than 201", refused, 1, "requests")


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--http-sizes", default=",".join(str(s) for s in HTTP_SIZES))
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--seconds", type=float, default=2.0, help="per engine figure")
    parser.add_argument("--slice", type=float, default=4.0, help="seconds per HTTP slice")
    parser.add_argument("--rounds", type=int, default=3, help="HTTP slices per endpoint")
    parser.add_argument(
        "--mixed-only",
        action="store_true",
        help=f"only the mixed load (bench/mixed.py) at {MIXED_SIZE}, SQLite and PostgreSQL",
    )
    parser.add_argument("--no-mixed", action="store_true", help="leave the mixed load out")
    parser.add_argument(
        "--mixed-slice", type=float, default=3.0, help="seconds per slice of the mixed load"
    )
    parser.add_argument("--mixed-rounds", type=int, default=3, help="rounds of the mixed load")
    parser.add_argument("--out", default=str(RESULTS / "latest.json"))
    args = parser.parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    http_sizes = [int(s) for s in args.http_sizes.split(",") if s]
    with_mixed = not args.no_http and not args.no_mixed
    if args.mixed_only:
        sizes, http_sizes, with_mixed = [], [], True
    began = time.perf_counter()
    work = RESULTS / "data"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    res: dict[str, Any] = {"machine": machine(), "sqlite": {}, "http_sqlite": {}}
    res["http_postgresql"] = {}
    res["mixed"] = {}
    built: dict[int, dataset.Dataset] = {}

    for size in sizes:
        url = f"sqlite:///{work / f'bench-{size}.db'}"
        print(f"building {size} appointments on SQLite ...", flush=True)
        ds = dataset.build(url, size)
        built[size] = ds
        print(
            f"  {ds.live} live, {ds.cancelled} cancelled, {ds.seconds:.1f} s; measuring", flush=True
        )
        figures = engine.run(
            url,
            busy_clients=ds.busy_clients,
            fresh_clients=ds.fresh_clients,
            seconds=args.seconds,
        )
        res["sqlite"][size] = {"dataset": _ds_json(ds), **figures}
        if not args.no_http and size in http_sizes:
            print(f"  HTTP on SQLite at {size} ...", flush=True)
            res["http_sqlite"][size] = http_figures(
                url, ds, full=size == max(http_sizes), slice_seconds=args.slice, rounds=args.rounds
            )

    res["lifetime"] = {}
    if not args.no_http and http_sizes and max(http_sizes) in built:
        print(f"  a change of the world and the attention list on SQLite at {max(http_sizes)} ...")
        res["lifetime"]["sqlite"] = lifetime.measure_clinic(
            built[max(http_sizes)].url, seconds=args.seconds
        )

    res["growth"] = {}
    if GROWTH[0] in built and GROWTH[1] in built:
        url = f"sqlite:///{work / f'bench-{GROWTH[1]}-history.db'}"
        print(f"building {GROWTH[1]} appointments, window as at {GROWTH[0]}, on SQLite ...")
        history = dataset.build(url, GROWTH[1], same_future_as=GROWTH[0])
        res["growth_datasets"] = {"history": _ds_json(history)}
        print("  planning: same window vs denser window ...", flush=True)
        res["growth"]["sqlite"] = engine.plan_growth(
            _growth_urls(built[GROWTH[0]], built[GROWTH[1]], history),
            seconds=args.seconds * 2,
        )

    def run_mixed(db_name: str, ds: dataset.Dataset) -> None:
        print(f"  mixed load on {db_name} at {ds.size} ...", flush=True)
        res["mixed"][db_name] = mixed.mixed_figures(
            ds.url, ds, slice_seconds=args.mixed_slice, rounds=args.mixed_rounds
        )

    if with_mixed:  # after the growth figures, which read the same clinic
        if MIXED_SIZE not in built:
            print(f"building {MIXED_SIZE} appointments on SQLite ...", flush=True)
            built[MIXED_SIZE] = dataset.build(
                f"sqlite:///{work / f'bench-{MIXED_SIZE}.db'}", MIXED_SIZE
            )
        run_mixed("sqlite", built[MIXED_SIZE])

    if (not args.no_http or args.mixed_only) and not args.no_postgresql:
        from tests.pg.server import ServerUnavailable, start_server, stop_server

        try:
            server = start_server("bench_0")
        except ServerUnavailable as exc:
            print(f"PostgreSQL skipped: {exc}")
            res["http_postgresql"] = {"skipped": str(exc)}
        else:
            try:
                import psycopg

                def create(name: str) -> str:
                    with psycopg.connect(
                        host=server.host,
                        port=server.port,
                        user="postgres",
                        dbname="postgres",
                        autocommit=True,
                    ) as conn:
                        conn.execute(f"CREATE DATABASE {name}")
                    return server.url(name)

                pg_built: dict[int, dataset.Dataset] = {}
                for size in http_sizes:
                    name = f"bench_{size}"
                    print(f"building {size} appointments on PostgreSQL ...", flush=True)
                    ds = dataset.build(create(name), size)
                    pg_built[size] = ds
                    print(f"  {ds.seconds:.1f} s; HTTP on PostgreSQL at {size} ...", flush=True)
                    res["http_postgresql"][size] = http_figures(
                        server.url(name),
                        ds,
                        full=size == max(http_sizes),
                        slice_seconds=args.slice,
                        rounds=args.rounds,
                    )
                if http_sizes and max(http_sizes) in pg_built:
                    print("  a change of the world and the attention list on PostgreSQL ...")
                    res["lifetime"]["postgresql"] = lifetime.measure_clinic(
                        pg_built[max(http_sizes)].url, seconds=args.seconds
                    )
                if GROWTH[0] in pg_built and GROWTH[1] in pg_built:
                    print(
                        f"building {GROWTH[1]} appointments, window as at {GROWTH[0]}, "
                        "on PostgreSQL ...",
                        flush=True,
                    )
                    history = dataset.build(
                        create(f"bench_{GROWTH[1]}_history"), GROWTH[1], same_future_as=GROWTH[0]
                    )
                    print("  planning: same window vs denser window ...", flush=True)
                    res["growth"]["postgresql"] = engine.plan_growth(
                        _growth_urls(pg_built[GROWTH[0]], pg_built[GROWTH[1]], history),
                        seconds=args.seconds * 2,
                        engine=False,  # the engine alone does not touch the database
                    )
                if with_mixed:
                    if MIXED_SIZE not in pg_built:
                        print(f"building {MIXED_SIZE} appointments on PostgreSQL ...", flush=True)
                        pg_built[MIXED_SIZE] = dataset.build(
                            create(f"bench_{MIXED_SIZE}"), MIXED_SIZE
                        )
                    run_mixed("postgresql", pg_built[MIXED_SIZE])
            finally:
                stop_server(server)

    res["targets"] = targets(res)
    res["seconds"] = round(time.perf_counter() - began, 1)
    print()
    print(table(res))
    print(mixed.table(res["mixed"]))
    print()
    for t in res["targets"]:
        print(
            f"{'PASS' if t['pass'] else 'FAIL'}  {t['target']}: {t['value']} {t['unit']} (limit {t['limit']})"
        )
    print(f"\n{res['seconds']} s in all; written to {args.out}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1, default=str))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(t["pass"] for t in res["targets"]) else 1


def _growth_urls(
    small: dataset.Dataset, dense: dataset.Dataset, history: dataset.Dataset
) -> dict[str, tuple[str, list[int]]]:
    return {
        str(small.size): (small.url, small.fresh_clients),
        f"{dense.size} denser window": (dense.url, dense.fresh_clients),
        f"{history.size} same window": (history.url, history.fresh_clients),
    }


def _ds_json(ds: dataset.Dataset) -> dict[str, Any]:
    return {
        "appointments": ds.size,
        "live": ds.live,
        "live_ahead": ds.live_ahead,
        "cancelled": ds.cancelled,
        "clients": ds.clients,
        "first_day": ds.first_day.isoformat(),
        "last_day": ds.last_day.isoformat(),
        "build_seconds": round(ds.seconds, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
