"""Build the benchmark clinic: 20 practitioners, 6 rooms, 3 devices and N appointments.

The schema comes from the real migrations (`flask_migrate.upgrade`) and the catalogue from the
real import (`import_catalogue`, the demo catalogue with the bench clinic's rooms, devices and
practitioners). Clients, enrolments and appointments are written with SQLAlchemy Core bulk
inserts (executemany), which is what makes 100,000 appointments take seconds.

The appointments are generated deterministically from a seed, by sweeping each open day on the
15-minute grid: a free room starts a session of a procedure with a free qualified practitioner
who works then, a free device if the procedure needs one, and a client who is not in another
session. So no practitioner, room, device or client is ever in two live sessions at once, as
PostgreSQL's exclusion constraints (migration 0003) demand.

Capacity: six rooms cannot hold 100,000 live sessions of about an hour in two years (that is
23 sessions per room per open day). The sweep fills the rooms to what they hold (about 80%
of the room time at the densest); appointments beyond that are written as *cancelled* ones
(kept as history, holding nothing), spread over the same two years. Below that the share of
cancelled appointments is a realistic 12%. `Dataset.live` says how many hold time.
"""

from __future__ import annotations

import copy
import json
import random
import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parent.parent
DEMO_CATALOGUE = ROOT / "clinic" / "demo" / "catalogue.json"
SEED = 20261125
DAYS_BACK = 365
DAYS_AHEAD = 365
CANCELLED_SHARE = 0.12
RECEPTION_EMAIL = "reception@bench.clinic"
RECEPTION_PASSWORD = "bench-reception-pw"
# Procedures as the sweep picks them (code, weight).
MIX = (
    ("glycolic_peel", 0.22),
    ("facial_massage", 0.2),
    ("microcurrent", 0.2),
    ("kinesio_taping", 0.18),
    ("tca_peel", 0.08),
    ("co2_laser", 0.12),
)
COURSE_OF = {
    "glycolic_peel": "glycolic_course",
    "facial_massage": "massage_course",
    "microcurrent": "microcurrent_course",
    "kinesio_taping": "kinesio_single",
    "tca_peel": "tca_course",
    "co2_laser": "co2_course",
}
# Qualification sets, cycled over the 20 practitioners.
SKILLS = (
    ["laser", "peel"],
    ["massage", "taping"],
    ["massage", "microcurrent", "peel"],
    ["laser", "microcurrent", "peel", "taping"],
)
OPENING = {
    "mon": [["08:00", "21:00"]],
    "tue": [["08:00", "21:00"]],
    "wed": [["08:00", "21:00"]],
    "thu": [["08:00", "21:00"]],
    "fri": [["08:00", "21:00"]],
    "sat": [["09:00", "18:00"]],
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SHIFTS = ((time(8), time(16)), (time(13), time(21)))
SATURDAY = (time(9), time(18))


@dataclass
class Dataset:
    """What was built, and what the benchmarks need to know about it."""

    url: str
    size: int
    live: int
    cancelled: int
    clients: int
    fresh_clients: list[int]
    busy_clients: list[int]
    first_day: date
    last_day: date
    today: date
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    live_ahead: int = 0  # live appointments from now on (what the planner searches)
    history_only: bool = False  # built with `same_future_as`: the growth is all in the past


def bench_catalogue(today: date) -> dict[str, Any]:
    """The demo catalogue with the bench clinic's hours, rooms, devices and practitioners."""
    data: dict[str, Any] = copy.deepcopy(json.loads(DEMO_CATALOGUE.read_text()))
    data["clinic"]["name"] = "Bench Skin Clinic"
    data["clinic"]["opening_hours"] = OPENING
    data["rooms"] = [{"code": f"R{i}", "name": f"Treatment room {i}"} for i in range(1, 7)]
    data["devices"] = [
        {"code": "CO2-1", "kind": "co2_laser", "name": "Fractional CO2 laser 1"},
        {"code": "CO2-2", "kind": "co2_laser", "name": "Fractional CO2 laser 2"},
        {"code": "LED-1", "kind": "led_panel", "name": "LED light panel"},
    ]
    practitioners = []
    for i in range(20):
        hours: dict[str, list[list[str]]] = {}
        free_day = i % 6  # each works five of the six open days
        for wd in range(6):
            if wd == free_day:
                continue
            a, b = SATURDAY if wd == 5 else SHIFTS[(i + wd) % 2]
            hours[WEEKDAYS[wd]] = [[a.strftime("%H:%M"), b.strftime("%H:%M")]]
        off_start = today + timedelta(days=30 + 17 * i)
        practitioners.append(
            {
                "email": f"practitioner{i + 1:02d}@bench.clinic",
                "name": f"Practitioner {i + 1:02d}",
                "qualifications": SKILLS[i % len(SKILLS)],
                "hours": hours,
                "time_off": [[off_start.isoformat(), (off_start + timedelta(days=4)).isoformat()]],
            }
        )
    data["practitioners"] = practitioners
    return data


@dataclass(frozen=True, slots=True)
class _Proc:
    code: str
    qualification: str
    device_kind: str | None
    steps: int  # duration in 15-minute steps
    buffer_steps: int


@dataclass(frozen=True, slots=True)
class _Row:
    start: datetime
    end: datetime
    busy_until: datetime
    practitioner: int
    room: int
    device: int | None
    client: int
    course: str


def _fill(
    *,
    catalogue: dict[str, Any],
    practitioner_ids: list[int],
    room_ids: list[int],
    device_ids: dict[str, list[int]],
    client_ids: list[int],
    tz: ZoneInfo,
    first: date,
    last: date,
    start_chance: float,
    seed: int,
    check_clients: bool = True,
) -> list[_Row]:
    """Sweep each open day on the grid; every resource (and client) is free when it is taken."""
    rnd = random.Random(seed)
    procs = {
        p["code"]: _Proc(
            p["code"],
            p["qualification"],
            p["device_kind"],
            p["duration_min"] // 15,
            -(-p["buffer_min"] // 15),
        )
        for p in catalogue["procedures"]
    }
    codes = [c for c, _ in MIX]
    weights = [w for _, w in MIX]
    holidays = {date.fromisoformat(d) for d in catalogue["clinic"]["holidays"]}
    opening = {
        WEEKDAYS.index(k): (time.fromisoformat(v[0][0]), time.fromisoformat(v[0][1]))
        for k, v in catalogue["clinic"]["opening_hours"].items()
    }
    work: list[dict[int, tuple[time, time]]] = []
    off: list[list[tuple[date, date]]] = []
    skills: list[set[str]] = []
    for p in catalogue["practitioners"]:
        work.append(
            {
                WEEKDAYS.index(k): (time.fromisoformat(v[0][0]), time.fromisoformat(v[0][1]))
                for k, v in p["hours"].items()
            }
        )
        off.append([(date.fromisoformat(a), date.fromisoformat(b)) for a, b in p["time_off"]])
        skills.append(set(p["qualifications"]))
    out: list[_Row] = []
    step = timedelta(minutes=15)
    day = first
    while day <= last:
        wd = day.weekday()
        if wd not in opening or day in holidays:
            day += timedelta(days=1)
            continue
        open_at, close_at = opening[wd]
        base = datetime.combine(day, time(0), tzinfo=tz)
        n_steps = (close_at.hour * 60 + close_at.minute) // 15
        first_step = (open_at.hour * 60 + open_at.minute) // 15
        # Step index of each practitioner's working day, or None when off.
        shifts: list[tuple[int, int] | None] = []
        for i in range(len(practitioner_ids)):
            hours = work[i].get(wd)
            if hours is None or any(a <= day <= b for a, b in off[i]):
                shifts.append(None)
            else:
                a, b = hours
                shifts.append(((a.hour * 60 + a.minute) // 15, (b.hour * 60 + b.minute) // 15))
        room_free = [0] * len(room_ids)
        p_free = [0] * len(practitioner_ids)
        d_free: dict[int, int] = defaultdict(int)
        c_free: dict[int, int] = defaultdict(int)
        for s in range(first_step, n_steps):
            rooms = list(range(len(room_ids)))
            rnd.shuffle(rooms)
            for r in rooms:
                if room_free[r] > s or rnd.random() >= start_chance:
                    continue
                proc = procs[rnd.choices(codes, weights)[0]]
                end = s + proc.steps
                if end > n_steps:
                    continue
                who = [
                    i
                    for i, sh in enumerate(shifts)
                    if sh is not None
                    and sh[0] <= s
                    and end <= sh[1]
                    and p_free[i] <= s
                    and proc.qualification in skills[i]
                ]
                if not who:
                    continue
                pi = rnd.choice(who)
                device = None
                if proc.device_kind is not None:
                    free = [d for d in device_ids.get(proc.device_kind, []) if d_free[d] <= s]
                    if not free:
                        continue
                    device = free[0]
                client = rnd.choice(client_ids)
                if check_clients:
                    for _ in range(5):
                        if c_free[client] <= s:
                            break
                        client = rnd.choice(client_ids)
                    else:
                        continue
                busy = end + proc.buffer_steps
                room_free[r] = p_free[pi] = busy
                if device is not None:
                    d_free[device] = busy
                c_free[client] = end
                start_at = (base + s * step).astimezone(UTC)
                out.append(
                    _Row(
                        start_at,
                        (base + end * step).astimezone(UTC),
                        (base + busy * step).astimezone(UTC),
                        practitioner_ids[pi],
                        room_ids[r],
                        device,
                        client,
                        COURSE_OF[proc.code],
                    )
                )
        day += timedelta(days=1)
    return out


def build(
    url: str,
    size: int,
    *,
    now: datetime | None = None,
    seed: int = SEED,
    days_back: int = DAYS_BACK,
    days_ahead: int = DAYS_AHEAD,
    fresh: int = 2000,
    same_future_as: int | None = None,
) -> Dataset:
    """Create the schema at `url` (an empty database) and fill it with `size` appointments.

    With `same_future_as=n`, the appointments from today on are exactly those of the
    n-appointment clinic (same seed, same clients, same rows), and the other `size - n` lie
    in the past year as history: past sessions as dense as the rooms hold (done or no-show),
    the rest cancelled. The planner's window then holds the same live appointments at both
    sizes, and only the history grows.
    """
    from flask_migrate import upgrade

    from clinic import create_app
    from clinic.extensions import db
    from clinic.models import (
        Appointment,
        Client,
        ClientConsent,
        ConsentForm,
        ConsentFormVersion,
        Enrolment,
    )
    from clinic.services.catalogue import import_catalogue
    from clinic.services.people.accounts import create_user
    from clinic.services.world import course_catalogue
    from clinic.services.world.aftercare import rules_record

    began = clock.perf_counter()
    now = now or datetime.now(UTC)
    app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        catalogue = bench_catalogue(now.date())
        tz = ZoneInfo(catalogue["clinic"]["timezone"])
        today = now.astimezone(tz).date()
        import_catalogue(catalogue)
        create_user(
            email=RECEPTION_EMAIL, role="receptionist", password=RECEPTION_PASSWORD, name="Desk"
        )
        s = db.session
        by_email = dict(s.execute(text("SELECT email, id FROM practitioners")).all())
        practitioner_ids = [by_email[p["email"]] for p in catalogue["practitioners"]]
        room_ids = list(s.scalars(text("SELECT id FROM rooms ORDER BY code")))
        device_ids: dict[str, list[int]] = defaultdict(list)
        for kind, did in s.execute(text("SELECT kind, id FROM devices ORDER BY code")):
            device_ids[kind].append(did)
        course_ids = dict(s.execute(text("SELECT code, id FROM courses")).all())
        sessions_of = dict(s.execute(text("SELECT code, sessions FROM courses")).all())
        # What each enrolment keeps of its course (services.aftercare.rules_record).
        rules_of = {
            code: rules_record(course_catalogue.course_rules(course_catalogue.get_course(code)))
            for code in course_ids
        }
        s.remove()

        # Clients: those with history, and fresh ones (no appointments) to book for.
        n_busy = max(100, (same_future_as or size) // 8)
        n_fresh = fresh
        first_client = 1 + (db.session.scalar(text("SELECT COALESCE(MAX(id), 0) FROM clients")))
        busy_clients = list(range(first_client, first_client + n_busy))
        fresh_clients = list(range(first_client + n_busy, first_client + n_busy + n_fresh))
        db.session.remove()
        created = datetime(2024, 1, 1, tzinfo=UTC)
        client_rows = [
            {
                "id": cid,
                "name": f"Client {cid}",
                "email": f"client{cid}@bench.clinic",
                "phone": "",
                "notes": "",
                "created_at": created,
            }
            for cid in busy_clients + fresh_clients
        ]

        first, last = today - timedelta(days=days_back), today + timedelta(days=days_ahead - 1)
        common = dict(
            catalogue=catalogue,
            practitioner_ids=practitioner_ids,
            room_ids=room_ids,
            device_ids=device_ids,
            client_ids=busy_clients,
            tz=tz,
            first=first,
            last=last,
        )
        base = same_future_as or size
        want_live = round(base * (1 - CANCELLED_SHARE))
        # The densest fill the rooms take, then a uniform sample of it: dropping sessions
        # keeps every resource free of overlaps.
        full = _fill(**common, start_chance=0.9, seed=seed)  # type: ignore[arg-type]
        rnd = random.Random(seed + 1)
        live = rnd.sample(full, min(want_live, len(full)))
        kept = set(live)
        dropped = [r for r in full if r not in kept]
        n_cancelled = base - len(live)
        cancelled = dropped[:n_cancelled]
        if len(cancelled) < n_cancelled:
            extra = _fill(**common, start_chance=0.9, seed=seed + 2, check_clients=False)  # type: ignore[arg-type]
            cancelled += rnd.sample(extra, min(len(extra), n_cancelled - len(cancelled)))
            while len(cancelled) < n_cancelled:  # more than two fills: repeat the pattern
                cancelled.append(extra[len(cancelled) % len(extra)])
        if same_future_as is not None and size > base:
            # History: the past sessions the sample left out become live (done or no-show),
            # then cancelled ones in the past year up to `size`. The future is untouched.
            taken = kept | set(cancelled)
            past = [r for r in dropped if r.start < now and r not in taken]
            live += past[: size - base]
            more = size - len(live) - len(cancelled)
            if more > 0:
                history = _fill(
                    **{**common, "last": today - timedelta(days=1)},  # type: ignore[arg-type]
                    start_chance=0.9,
                    seed=seed + 3,
                    check_clients=False,
                )
                history = [r for r in history if r.start < now]
                for k in range(more):  # more than one fill of the past: repeat the pattern
                    cancelled.append(history[k % len(history)])

        rows = [(r, "live") for r in live] + [(r, "cancelled") for r in cancelled]
        rows.sort(key=lambda x: (x[0].client, x[0].course, x[0].start))
        enrolments: list[dict[str, Any]] = []
        appointments: list[dict[str, Any]] = []
        current: dict[tuple[int, str], tuple[int, int]] = {}
        for r, kind in rows:
            key = (r.client, r.course)
            eid, number = current.get(key, (0, 0))
            if eid == 0 or number >= sessions_of[r.course]:
                eid, number = len(enrolments) + 1, 0
                enrolments.append(
                    {
                        "id": eid,
                        "client_id": r.client,
                        "course_id": course_ids[r.course],
                        "rules": rules_of[r.course],
                        "status": "active",
                        "created_at": r.start - timedelta(days=30),
                    }
                )
            number += 1
            current[key] = (eid, number)
            if kind == "cancelled":
                status = "cancelled"
            elif r.start >= now:
                status = "booked"
            else:
                status = "no_show" if rnd.random() < 0.06 else "done"
            appointments.append(
                {
                    "id": len(appointments) + 1,
                    "enrolment_id": eid,
                    "session": number,
                    "client_id": r.client,
                    "practitioner_id": r.practitioner,
                    "device_id": r.device,
                    "room_id": r.room,
                    "start_at": r.start,
                    "end_at": r.end,
                    "busy_until_at": r.busy_until,
                    "status": status,
                    "note": "",
                    "override_reason": "",
                    "created_at": r.start - timedelta(days=30),
                    "updated_at": r.start - timedelta(days=30),
                }
            )

        # Every client has signed each consent form the catalogue has, the day before today
        # (issue 21): a clinic's clients sign before they book, and the plans measured are
        # for clients who may book.
        forms = db.session.execute(
            select(
                ConsentForm.id,
                ConsentForm.valid_days,
                ConsentFormVersion.id,
                ConsentFormVersion.sha256,
            )
            .join(ConsentFormVersion, ConsentFormVersion.form_id == ConsentForm.id)
            .order_by(ConsentForm.id, ConsentFormVersion.number)
        ).all()
        latest = {
            form_id: (valid_days, version_id, sha) for form_id, valid_days, version_id, sha in forms
        }
        signed_on = today - timedelta(days=1)
        consent_rows = [
            {
                "client_id": row["id"],
                "form_id": form_id,
                "version_id": version_id,
                "text_sha256": sha,
                "signed_name": row["name"],
                "how": "online",
                "signed_at": created,
                "signed_on": signed_on,
                "valid_until": signed_on + timedelta(days=valid_days),
            }
            for row in client_rows
            for form_id, (valid_days, version_id, sha) in latest.items()
        ]
        db.session.remove()

        with db.engine.begin() as conn:
            for table, batch in (
                (Client.__table__, client_rows),
                (ClientConsent.__table__, consent_rows),
                (Enrolment.__table__, enrolments),
                (Appointment.__table__, appointments),
            ):
                for i in range(0, len(batch), 20000):
                    conn.execute(insert(table), batch[i : i + 20000])
            if conn.dialect.name == "postgresql":
                for table in ("clients", "client_consents", "enrolments", "appointments"):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT MAX(id) FROM {table}))"
                        )
                    )
                conn.execute(text("ANALYZE"))
            else:
                conn.execute(text("ANALYZE"))
        db.engine.dispose()
    return Dataset(
        url=url,
        size=size,
        live=len(live),
        cancelled=len(cancelled),
        clients=len(client_rows),
        fresh_clients=fresh_clients,
        busy_clients=busy_clients,
        first_day=first,
        last_day=last,
        today=today,
        seconds=clock.perf_counter() - began,
        counts={"enrolments": len(enrolments), "appointments": len(appointments)},
        live_ahead=sum(1 for r in live if r.start >= now),
        history_only=same_future_as is not None,
    )
