"""Engine-only and service-level timings on a built dataset.

Engine only: the whole live occupancy of the database is loaded into one in-memory
`ResourceBook` first, so the timings are the engine's work alone (no database), with every
appointment of the two years in memory. Service level: `plan_course_for` as the API calls it,
with a fresh database session each time. "Cold" figures start with nothing kept between calls
(the book's free slots per day; the worker's catalogue and days, clinic/services/cache.py);
the others are what a worker does while nothing changes in the database.
"""

from __future__ import annotations

import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

COURSE = "glycolic_course"  # six sessions, 14 to 28 days apart


@dataclass
class Timing:
    runs: int
    median_ms: float
    p95_ms: float
    peak_kib: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "median_ms": round(self.median_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "peak_kib": None if self.peak_kib is None else round(self.peak_kib, 1),
        }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def measure(
    call: Callable[[int], object],
    *,
    seconds: float,
    min_runs: int,
    max_runs: int = 100000,
    memory_runs: int = 0,
) -> Timing:
    """Time `call(i)` for i = 0, 1, ... until `seconds` have passed and `min_runs` were made;
    then, if asked, the peak memory (tracemalloc) of `memory_runs` more calls."""
    call(0)  # warm caches and imports
    times: list[float] = []
    began = time.perf_counter()
    i = 1
    while (len(times) < min_runs or time.perf_counter() - began < seconds) and i <= max_runs:
        t0 = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - t0) * 1000)
        i += 1
    peak = None
    if memory_runs:
        tracemalloc.start()
        peaks = []
        for j in range(memory_runs):
            tracemalloc.reset_peak()
            base, _ = tracemalloc.get_traced_memory()
            call(i + j)
            _, top = tracemalloc.get_traced_memory()
            peaks.append(top - base)
        tracemalloc.stop()
        peak = max(peaks) / 1024
    return Timing(len(times), statistics.median(times), percentile(times, 0.95), peak)


def open_days(first: date, count: int, closed: set[int], holidays: frozenset[date]) -> list[date]:
    out, day = [], first
    while len(out) < count:
        if day.weekday() not in closed and day not in holidays:
            out.append(day)
        day += timedelta(days=1)
    return out


def run(
    url: str,
    *,
    busy_clients: list[int],
    fresh_clients: list[int],
    seconds: float = 2.0,
    min_runs: int = 20,
    memory_runs: int = 5,
    cases: int = 40,
    seed: int = 7,
) -> dict[str, Any]:
    """Engine-only availability, check and plan, and the service-level plan, on `url`."""
    from sqlalchemy import select

    from clinic import create_app
    from clinic.extensions import db
    from clinic.models import HOLDING_STATUSES, Appointment, User
    from clinic.scheduling import (
        Occupancy,
        ProposedSession,
        ResourceBook,
        Snapshot,
        available_slots,
        check_course,
        plan_course,
    )
    from clinic.services.core import cache, clinic_setup
    from clinic.services.core.actors import actor_for
    from clinic.services.core.errors import RuleViolation
    from clinic.services.courses import enrol
    from clinic.services.world import client_reads, course_catalogue, day_memory
    from clinic.services.world.snapshot import load_snapshot

    now = datetime.now(UTC)
    rnd = random.Random(seed)
    app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
    out: dict[str, Any] = {}
    with app.app_context():
        rules = clinic_setup.clinic_rules()
        tz = rules.tz
        today = now.astimezone(tz).date()
        closed = {wd for wd in range(7) if wd not in rules.opening}
        days = open_days(today + timedelta(days=1), 60, closed, rules.holidays)
        n_cases = cases
        loaded = load_snapshot()
        rows = db.session.execute(
            select(
                Appointment.id,
                Appointment.practitioner_id,
                Appointment.device_id,
                Appointment.room_id,
                Appointment.start_at,
                Appointment.busy_until_at,
            ).where(Appointment.status.in_(HOLDING_STATUSES))
        )
        book = ResourceBook(tz, [Occupancy(*r) for r in rows])
        snapshot = Snapshot(rules, loaded.practitioners, loaded.devices, loaded.rooms, book)
        course = course_catalogue.course_rules(course_catalogue.get_course(COURSE))
        # New clients (nothing booked yet) are the headline; clients with a booked history
        # (about eight sessions over the two years, some ahead) show the planner's harder case.
        new = [client_reads.client_state(c, now, enrolments=()) for c in fresh_clients[:20]]
        busy = [
            client_reads.client_state(c, now, enrolments=())
            for c in rnd.sample(busy_clients, min(20, len(busy_clients)))
        ]
        cases = [(new[i % len(new)], days[(7 * i) % len(days)]) for i in range(n_cases)]
        busy_cases = [(busy[i % len(busy)], days[(7 * i) % len(days)]) for i in range(n_cases)]

        def availability(i: int) -> object:
            return available_slots(snapshot=snapshot, procedure=course.procedure, day=days[i % 60])

        def plan(i: int, cases: list[tuple[Any, date]] = cases) -> Any:
            client, earliest = cases[i % len(cases)]
            return plan_course(
                snapshot=snapshot, course=course, client=client, earliest=earliest, now=now
            )

        def plan_busy(i: int) -> Any:
            return plan(i, busy_cases)

        def plan_cold(i: int) -> Any:
            book.clear_kept()  # what the book keeps between plans: each day's free slots
            return plan(i)

        plans = [plan(i) for i in range(len(cases))]
        proposals = [
            [ProposedSession(k + 1, s.start, s.practitioner_id) for k, s in enumerate(p.slots)]  # type: ignore[attr-defined]
            for p in plans
        ]

        def check(i: int) -> object:
            client, _ = cases[i % len(cases)]
            result = check_course(
                snapshot=snapshot,
                course=course,
                client=client,
                proposals=proposals[i % len(cases)],
                now=now,
            )
            assert result.ok, result.violations
            return result

        planned = sum(1 for p in plans if p.ok)  # type: ignore[attr-defined]
        out["engine"] = {
            "availability": measure(
                availability, seconds=seconds, min_runs=min_runs, memory_runs=memory_runs
            ).as_json(),
            "check_course": measure(
                check, seconds=seconds, min_runs=min_runs, memory_runs=memory_runs
            ).as_json(),
            "plan_course": measure(
                plan, seconds=seconds, min_runs=min_runs, memory_runs=memory_runs
            ).as_json(),
            "plan_course_client_with_history": measure(
                plan_busy, seconds=seconds, min_runs=min_runs, memory_runs=memory_runs
            ).as_json(),
            "plan_course_cold": measure(
                plan_cold, seconds=seconds, min_runs=min_runs, memory_runs=memory_runs
            ).as_json(),
            "plans_found": f"{planned}/{len(plans)}",
            "days_in_memory": book.loaded_days(),
        }
        reception = db.session.scalar(select(User).where(User.role == "receptionist"))
        assert reception is not None
        actor = actor_for(reception)
        db.session.remove()

        def service_plan(i: int, cases: list[tuple[Any, date]] = cases) -> object:
            client, earliest = cases[i % len(cases)]
            try:
                return enrol.plan_course_for(
                    actor=actor, course_code=COURSE, client_id=client.id, earliest=earliest
                )
            except RuleViolation as refused:
                # No plan exists for this client from that day (a client with a history can be
                # out of dates within the search limit): a refusal is an answer, timed as one.
                return refused
            finally:
                db.session.remove()

        def service_plan_busy(i: int) -> object:
            return service_plan(i, busy_cases)

        def service_plan_cold(i: int) -> object:
            cache.forget()  # nothing in the worker's memory: catalogue and days read afresh
            day_memory.forget_all()
            return service_plan(i)

        out["service"] = {
            "plan_course_for": measure(
                service_plan, seconds=seconds, min_runs=min_runs, memory_runs=memory_runs
            ).as_json(),
            "plan_course_for_client_with_history": measure(
                service_plan_busy, seconds=seconds, min_runs=min_runs, memory_runs=memory_runs
            ).as_json(),
            "plan_course_for_cold": measure(
                service_plan_cold, seconds=seconds, min_runs=min_runs, memory_runs=memory_runs
            ).as_json(),
        }
        db.engine.dispose()
    return out


def plan_growth(
    urls: dict[str, tuple[str, list[int]]],
    *,
    seconds: float = 2.0,
    rounds: int = 4,
    cases: int = 40,
    engine: bool = True,
) -> dict[str, Any]:
    """Planning a 6-session course for a new client on several databases (e.g. 10,000 and
    100,000 appointments), engine only and through `plan_course_for`, measured in
    interleaved rounds so that the machine's drift falls on every database alike. `urls`
    gives each database's URL and its fresh clients (no appointments) to plan for.

    Returns {label: {"plan_course": timing, "plan_course_for": timing}}."""
    from sqlalchemy import select

    from clinic import create_app
    from clinic.extensions import db
    from clinic.models import HOLDING_STATUSES, Appointment, User
    from clinic.scheduling import Occupancy, ResourceBook, Snapshot, plan_course
    from clinic.services.core import clinic_setup
    from clinic.services.core.actors import actor_for
    from clinic.services.core.errors import RuleViolation
    from clinic.services.courses import enrol
    from clinic.services.world import client_reads, course_catalogue
    from clinic.services.world.snapshot import load_snapshot

    now = datetime.now(UTC)
    calls: dict[str, dict[str, Callable[[int], object]]] = {}
    apps = []
    for label, (url, fresh_clients) in urls.items():
        app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
        apps.append(app)
        with app.app_context():
            rules = clinic_setup.clinic_rules()
            today = now.astimezone(rules.tz).date()
            closed = {wd for wd in range(7) if wd not in rules.opening}
            days = open_days(today + timedelta(days=1), 60, closed, rules.holidays)
            loaded = load_snapshot()
            rows = db.session.execute(
                select(
                    Appointment.id,
                    Appointment.practitioner_id,
                    Appointment.device_id,
                    Appointment.room_id,
                    Appointment.start_at,
                    Appointment.busy_until_at,
                ).where(Appointment.status.in_(HOLDING_STATUSES))
            )
            book = ResourceBook(rules.tz, [Occupancy(*r) for r in rows])
            snapshot = Snapshot(rules, loaded.practitioners, loaded.devices, loaded.rooms, book)
            course = course_catalogue.course_rules(course_catalogue.get_course(COURSE))
            new = [client_reads.client_state(c, now, enrolments=()) for c in fresh_clients[:20]]
            plan_cases = [(new[i % len(new)], days[(7 * i) % len(days)]) for i in range(cases)]
            reception = db.session.scalar(select(User).where(User.role == "receptionist"))
            assert reception is not None
            actor = actor_for(reception)
            db.session.remove()

        def engine_plan(
            i: int, snapshot: Snapshot = snapshot, course: Any = course, pc: Any = plan_cases
        ) -> object:
            client, earliest = pc[i % len(pc)]
            return plan_course(
                snapshot=snapshot, course=course, client=client, earliest=earliest, now=now
            )

        def service_plan(
            i: int, app: Any = app, actor: Any = actor, pc: Any = plan_cases
        ) -> object:
            client, earliest = pc[i % len(pc)]
            with app.app_context():
                try:
                    return enrol.plan_course_for(
                        actor=actor, course_code=COURSE, client_id=client.id, earliest=earliest
                    )
                except RuleViolation as refused:
                    return refused  # as in run(): a refusal is an answer
                finally:
                    db.session.remove()

        calls[label] = {"plan_course_for": service_plan}
        if engine:
            calls[label]["plan_course"] = engine_plan
    times: dict[str, dict[str, list[float]]] = {
        label: {name: [] for name in figures} for label, figures in calls.items()
    }
    counters = {label: 0 for label in calls}
    for figures in calls.values():  # warm-up
        for call in figures.values():
            call(0)
    for _ in range(rounds):
        for label, figures in calls.items():
            for name, call in figures.items():
                stop = time.perf_counter() + seconds / rounds
                while time.perf_counter() < stop:
                    counters[label] += 1
                    t0 = time.perf_counter()
                    call(counters[label])
                    times[label][name].append((time.perf_counter() - t0) * 1000)
    for app in apps:
        with app.app_context():
            db.engine.dispose()
    return {
        label: {
            name: Timing(len(t), statistics.median(t), percentile(t, 0.95)).as_json()
            for name, t in figures.items()
        }
        for label, figures in times.items()
    }
