"""Issue 14: what a change of the world costs, and the attention list, as the table grows.

A change of the world (a practitioner's time off, say) is judged on the booked future sessions
in its scope, and the attention list on the flagged sessions; neither should cost more because
the appointments table holds more rows. Measured on the bench clinics (bench/dataset.py) on
SQLite:

- *10000*: the 10,000-appointment clinic;
- *100000 same window*: 100,000 appointments whose future is exactly the 10,000 clinic's (the
  extra 90,000 are history): the same sessions are in scope at both sizes, so any growth is
  the table's;
- *100000 denser window*: the 100,000 clinic, whose future holds 4.6 times as many sessions:
  more of them are in each scope.

Figures, per database:
- `dry_run_day` / `dry_run_week`: `time_off.add_time_off(confirm=False)` for the busiest
  practitioner over one day / one week ahead (nothing is written: the answer lists the
  sessions it would break). `in_scope` is the number of booked sessions judged.
- `attention_list`: `attention_list.attention_list` with the sessions of that week flagged
  (confirmed time off), re-plans included; `flagged` is how many.

Run: `.venv/bin/python bench/lifetime.py` (about 2 minutes); `--seconds` per figure.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, engine  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _busiest(app: Any, first: Any, last: Any) -> tuple[int, int]:
    """The practitioner with the most booked sessions between two instants, and that count."""
    from sqlalchemy import func, select

    from clinic.extensions import db
    from clinic.models import Appointment

    with app.app_context():
        row = db.session.execute(
            select(Appointment.practitioner_id, func.count())
            .where(
                Appointment.status == "booked",
                Appointment.start_at >= first,
                Appointment.start_at < last,
            )
            .group_by(Appointment.practitioner_id)
            .order_by(func.count().desc(), Appointment.practitioner_id)
            .limit(1)
        ).one()
        return int(row[0]), int(row[1])


def measure_clinic(url: str, *, seconds: float, min_runs: int = 5) -> dict[str, Any]:
    from sqlalchemy import select

    from clinic import create_app
    from clinic.extensions import db
    from clinic.models import TimeOff, User
    from clinic.services.core import clinic_setup
    from clinic.services.core.actors import actor_for
    from clinic.services.lifetime import attention_list
    from clinic.services.staffing import time_off

    app = create_app("development", SQLALCHEMY_DATABASE_URI=url)
    now = datetime.now(UTC)
    out: dict[str, Any] = {}
    with app.app_context():
        tz = clinic_setup.clinic_tz()
        today = now.astimezone(tz).date()
        admin = db.session.scalar(select(User).where(User.role == "receptionist"))
        assert admin is not None
        admin.role = "admin"  # the bench's desk acts as the admin who edits time off
        db.session.commit()
        actor = actor_for(admin)
    # A week from a Monday two weeks ahead: inside everyone's window, past the notice.
    monday = today + timedelta(days=14 - today.weekday())
    for label, days in (("dry_run_day", 1), ("dry_run_week", 7)):
        first, last = monday, monday + timedelta(days=days - 1)
        start = datetime.combine(first, datetime.min.time(), tz)
        practitioner, in_scope = _busiest(app, start, start + timedelta(days=days))

        def dry_run(_: int, p: int = practitioner, a: Any = first, b: Any = last) -> object:
            with app.app_context():
                change = time_off.add_time_off(
                    actor=actor, practitioner_id=p, start_on=a, end_on=b, now=now
                )
                assert not change.saved and len(change.broken) > 0
                return change

        timing = engine.measure(dry_run, seconds=seconds, min_runs=min_runs)
        out[label] = {"in_scope": in_scope, **timing.as_json()}

    week_first, week_last = monday, monday + timedelta(days=6)
    start = datetime.combine(week_first, datetime.min.time(), tz)
    practitioner, _ = _busiest(app, start, start + timedelta(days=7))
    with app.app_context():
        change = time_off.add_time_off(
            actor=actor,
            practitioner_id=practitioner,
            start_on=week_first,
            end_on=week_last,
            confirm=True,
            now=now,
        )
        flagged = len(change.broken)

    def listing(_: int) -> object:
        with app.app_context():
            found = attention_list.attention_list(actor=actor, now=now)
            assert len(found) == flagged
            return found

    timing = engine.measure(listing, seconds=seconds, min_runs=min_runs)
    out["attention_list"] = {"flagged": flagged, **timing.as_json()}
    with app.app_context():  # leave the clinic as it was built
        row = db.session.scalar(select(TimeOff).where(TimeOff.start_on == week_first))
        if row is not None:
            time_off.remove_time_off(actor=actor, time_off_id=row.id, now=now)
        desk = db.session.get(User, actor.user_id)
        assert desk is not None
        desk.role = "receptionist"  # as it was built: other figures log in as reception
        db.session.commit()
    return out


def table(res: dict[str, Any]) -> str:
    lines = [
        "| clinic | dry run, 1 day: sessions judged | median ms | p95 ms "
        "| dry run, 1 week: judged | median ms | p95 ms | attention list: flagged | median ms "
        "| p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in res.items():
        d, w, a = r["dry_run_day"], r["dry_run_week"], r["attention_list"]
        lines.append(
            f"| {label} | {d['in_scope']} | {d['median_ms']:.1f} | {d['p95_ms']:.1f} "
            f"| {w['in_scope']} | {w['median_ms']:.1f} | {w['p95_ms']:.1f} "
            f"| {a['flagged']} | {a['median_ms']:.1f} | {a['p95_ms']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--out", default=str(RESULTS / "lifetime.json"))
    args = parser.parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    work = RESULTS / "lifetime-data"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    urls = {
        "10000": (f"sqlite:///{work / 'small.db'}", {"size": 10_000}),
        "100000 same window": (
            f"sqlite:///{work / 'history.db'}",
            {"size": 100_000, "same_future_as": 10_000},
        ),
        "100000 denser window": (f"sqlite:///{work / 'dense.db'}", {"size": 100_000}),
    }
    res: dict[str, Any] = {}
    for label, (url, how) in urls.items():
        print(f"building {label} ...", flush=True)
        dataset.build(url, how.pop("size"), **how)
        print("  measuring", flush=True)
        res[label] = measure_clinic(url, seconds=args.seconds)
    print(table(res))
    Path(args.out).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
