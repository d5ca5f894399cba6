"""Issue 13's mixed load: planners and desks at once, bookings at 1 and 8 desks, and what our
app adds to every request (our `/healthz` next to a minimal Flask app's, bench/minimal_app.py).

One gunicorn of ours (4 sync workers) and one of the minimal app, side by side on the same
database, and these slices, each `slice_seconds` long, interleaved for `rounds` rounds so
that the machine's drift falls on all of them alike:

- `healthz`: 4 clients on our `GET /healthz`;
- `minimal_healthz`: 4 clients on the minimal app's `GET /healthz` (a `SELECT 1`);
- `plans_alone`: 4 clients planning 6-session courses (`POST /api/v1/plans`);
- `mixed_*`: the same 4 planners, 4 desks booking single sessions (`POST /api/v1/enrolments`)
  and a 9th client polling `GET /healthz`, all at the same time;
- `desk_1` / `desks_8`: bookings by 1 desk alone and by 8 desks at once.

Every booking is for another client than the ones in flight and at a free time that no other
booking of the run takes (far ahead, never overlapping), so each should be a 201; any other
answer is counted apart from the rate.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import dataset, engine, http_load

SLICES = ("healthz", "minimal_healthz", "plans_alone", "mixed", "desk_1", "desks_8")


def enrolment_slots(url: str, ds: dataset.Dataset, wanted: int) -> list[tuple[str, int]]:
    """Start times of a single-session course, far ahead and never overlapping each other, so
    that every POST /enrolments of the run can be accepted. Read from the database, so times
    booked by an earlier run are left out. The rooms are full to about 80%, so there are only
    two or three such times a day: from 200 days ahead (beyond where the planners search) to
    the end of the clinic's data first, then from 60 to 200 days ahead."""
    from clinic import create_app
    from clinic.extensions import db
    from clinic.scheduling import available_slots
    from clinic.services.world import course_catalogue
    from clinic.services.world.snapshot import load_snapshot

    app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
    out: list[tuple[str, int]] = []
    with app.app_context():
        procedure = course_catalogue.procedure_rules(
            course_catalogue.get_procedure("kinesio_taping")
        )
        snapshot = load_snapshot()
        for first, last in ((200, (ds.last_day - ds.today).days), (60, 200)):
            day = ds.today + timedelta(days=first)
            while len(out) < wanted and day < ds.today + timedelta(days=last):
                free_from = None
                for slot in available_slots(snapshot=snapshot, procedure=procedure, day=day):
                    if free_from is None or slot.start >= free_from:
                        out.append((slot.start.isoformat(), slot.practitioner_id))
                        free_from = slot.end + procedure.buffer
                day += timedelta(days=1)
        db.session.remove()
        db.engine.dispose()
    return out


def _summary(results: dict[str, http_load.Result]) -> dict[str, Any]:
    out: dict[str, Any] = {name: r.as_json() for name, r in results.items()}
    for name in ("mixed_bookings", "desk_1", "desks_8"):
        if name in results:
            r = results[name]
            booked = r.statuses.get(201, 0)
            out[name]["bookings_per_s"] = round(booked / r.seconds, 1) if r.seconds else 0.0
            out[name]["not_201"] = sum(r.statuses.values()) - booked
    return out


def ratios(f: dict[str, Any]) -> dict[str, float | None]:
    """The figures the targets and the README read, from one round or from all rounds."""

    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    return {
        "mixed_plan_p95_over_healthz_p95": div(
            f["mixed_plans"]["p95_ms"], f["mixed_healthz"]["p95_ms"]
        ),
        "desks_8_over_desk_1": div(f["desks_8"]["bookings_per_s"], f["desk_1"]["bookings_per_s"]),
        "healthz_over_minimal_p50": div(
            f["healthz"]["median_ms"], f["minimal_healthz"]["median_ms"]
        ),
        "healthz_over_minimal_p95": div(f["healthz"]["p95_ms"], f["minimal_healthz"]["p95_ms"]),
        "plans_p95_over_median": div(f["plans_alone"]["p95_ms"], f["plans_alone"]["median_ms"]),
        "healthz_p95_over_median": div(f["healthz"]["p95_ms"], f["healthz"]["median_ms"]),
    }


def mixed_figures(
    url: str, ds: dataset.Dataset, *, slice_seconds: float, rounds: int, workers: int = 4
) -> dict[str, Any]:
    """The mixed-load slices against our app and the minimal app, each under gunicorn with
    `workers` workers (the smoke test's one worker each runs the same code at a quarter of
    the start-up)."""
    days = engine.open_days(ds.today + timedelta(days=1), 60, {6}, frozenset())
    # As in run.http_figures: plans for the first half of the new clients, bookings for the
    # other half (each client booked at most once or twice, months apart).
    half = len(ds.fresh_clients) // 2
    planned, booked = ds.fresh_clients[:half], ds.fresh_clients[half:]
    slots = enrolment_slots(url, ds, 6000)
    booking_counter = [0]  # one count over every booking slice: no slot is asked for twice

    with (
        http_load.gunicorn(url, workers=workers) as (port, master),
        http_load.gunicorn(url, workers=workers, app="bench.minimal_app:app") as (minimal_port, _),
    ):
        workers = http_load.worker_pids(master.pid)
        bearer = http_load.token(port, dataset.RECEPTION_EMAIL, dataset.RECEPTION_PASSWORD)
        api = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}

        def healthz(i: int) -> http_load.Request:
            return ("GET", "/healthz", None, {})

        def plans(i: int) -> http_load.Request:
            body = {
                "course": engine.COURSE,
                "client": planned[i % len(planned)],
                "earliest": days[(7 * i) % len(days)].isoformat(),
            }
            return ("POST", "/api/v1/plans", json.dumps(body).encode(), api)

        def enrol(i: int) -> http_load.Request | None:
            if i >= len(slots):
                return None
            start, practitioner = slots[i]
            body = {
                "course": "kinesio_single",
                "client": booked[i % len(booked)],
                "sessions": [{"start": start, "practitioner": practitioner}],
            }
            return ("POST", "/api/v1/enrolments", json.dumps(body).encode(), api)

        plan_counter, health_counter, minimal_counter = [0], [0], [0]
        for i in range(8):  # warm-up: imports, connections, the catalogue each worker keeps
            http_load.request(port, healthz(i))
            http_load.request(minimal_port, healthz(i))
            http_load.request(port, plans(10_000_000 + i))
        for _ in range(4):
            req = enrol(booking_counter[0])
            booking_counter[0] += 1
            if req is not None:
                http_load.request(port, req)

        def jobs(name: str, into: dict[str, http_load.Result]) -> list[http_load.Job]:
            def job(key: str, p: int, make: Any, n: int, counter: list[int]) -> http_load.Job:
                return http_load.Job(p, make, n, counter, into.setdefault(key, http_load.Result()))

            if name == "healthz":
                return [job("healthz", port, healthz, 4, health_counter)]
            if name == "minimal_healthz":
                return [job("minimal_healthz", minimal_port, healthz, 4, minimal_counter)]
            if name == "plans_alone":
                return [job("plans_alone", port, plans, 4, plan_counter)]
            if name == "mixed":
                return [
                    job("mixed_plans", port, plans, 4, plan_counter),
                    job("mixed_bookings", port, enrol, 4, booking_counter),
                    job("mixed_healthz", port, healthz, 1, health_counter),
                ]
            desks = 1 if name == "desk_1" else 8
            return [job(name, port, enrol, desks, booking_counter)]

        total: dict[str, http_load.Result] = {}
        per_round: list[dict[str, Any]] = []
        # CPU seconds our workers used per slice, and the machine's load when it began: is a
        # slice short of cores (the machine is shared) or waiting on something?
        cpu: dict[str, float] = {}
        loadavg: list[float] = []
        for _ in range(rounds):
            this_round: dict[str, http_load.Result] = {}
            for name in SLICES:
                part: dict[str, http_load.Result] = {}
                loadavg.append(_loadavg())
                used = _cpu_seconds(workers)
                http_load.load_together(jobs(name, part), seconds=slice_seconds)
                cpu[name] = cpu.get(name, 0.0) + _cpu_seconds(workers) - used
                for key, r in part.items():
                    this_round[key] = r
                    t = total.setdefault(key, http_load.Result())
                    t.latencies_ms += r.latencies_ms
                    t.seconds += r.seconds
                    for status, n in r.statuses.items():
                        t.statuses[status] = t.statuses.get(status, 0) + n
            summary = _summary(this_round)
            per_round.append(ratios(summary))
    out = _summary(total)
    out["ratios"] = ratios(out)
    out["rounds"] = per_round
    out["slots"] = {"prepared": len(slots), "used": min(booking_counter[0], len(slots))}
    out["load_average"] = round(sum(loadavg) / len(loadavg), 2) if loadavg else None
    for name, key in (("desk_1", "desk_1"), ("desks_8", "desks_8")):
        booked = total[key].statuses.get(201, 0) if key in total else 0
        if booked:
            out[key]["worker_cpu_ms_per_booking"] = round(cpu[name] / booked * 1000, 1)
            out[key]["worker_cores_busy"] = round(cpu[name] / total[key].seconds, 2)
    return out


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes so far (Linux /proc), in seconds."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def table(mixed: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    for db_name, f in mixed.items():
        if not f or "skipped" in f:
            continue
        lines.append("")
        lines.append(
            f"Mixed load (issue 13), {db_name}, gunicorn 4 workers each, interleaved slices"
        )
        lines.append(
            f"{'slice':>16} | {'clients':>7} | {'req/s':>7} | {'median ms':>9} | {'p95 ms':>7} | "
            f"{'201/s':>6} | statuses"
        )
        rows = (
            ("healthz", "4", "our GET /healthz alone"),
            ("minimal_healthz", "4", "minimal app GET /healthz"),
            ("plans_alone", "4", "POST /plans alone"),
            ("mixed_plans", "4", "mixed: POST /plans"),
            ("mixed_bookings", "4", "mixed: bookings"),
            ("mixed_healthz", "1", "mixed: /healthz"),
            ("desk_1", "1", "bookings, 1 desk"),
            ("desks_8", "8", "bookings, 8 desks"),
        )
        for key, clients, label in rows:
            r = f.get(key)
            if r is None:
                continue
            rate = _fmt(r.get("bookings_per_s"))
            lines.append(
                f"{label:>26} | {clients:>7} | {_fmt(r['rps']):>7} | {_fmt(r['median_ms'], 2):>9} | "
                f"{_fmt(r['p95_ms'], 2):>7} | {rate:>6} | {r['statuses']}"
            )
        ra = f["ratios"]
        lines.append(
            f"  plan p95 / healthz p95 under the mixed load: {ra['mixed_plan_p95_over_healthz_p95']}"
            f" (per round {[r['mixed_plan_p95_over_healthz_p95'] for r in f['rounds']]})"
        )
        lines.append(
            f"  bookings/s, 8 desks / 1 desk: {ra['desks_8_over_desk_1']}"
            f" (per round {[r['desks_8_over_desk_1'] for r in f['rounds']]})"
        )
        lines.append(
            f"  our /healthz / minimal app's: p50 {ra['healthz_over_minimal_p50']}, "
            f"p95 {ra['healthz_over_minimal_p95']}"
            f" (per round p50 {[r['healthz_over_minimal_p50'] for r in f['rounds']]})"
        )
        lines.append(
            f"  p95 / median, 4 clients: /healthz {ra['healthz_p95_over_median']}, "
            f"POST /plans {ra['plans_p95_over_median']}"
        )
        lines.append(f"  booking slots prepared / used: {f['slots']}")
        for key in ("desk_1", "desks_8"):
            if "worker_cpu_ms_per_booking" in f.get(key, {}):
                lines.append(
                    f"  {key}: our workers' CPU {f[key]['worker_cpu_ms_per_booking']} ms a booking,"
                    f" {f[key]['worker_cores_busy']} cores busy"
                )
        lines.append(f"  machine load average while measuring: {f.get('load_average')} (2 cores)")
    return "\n".join(lines)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
