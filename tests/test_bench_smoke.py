"""The benchmark's own code, at a tiny size, so that `make bench` cannot rot unnoticed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from bench import dataset, engine


def test_bench_builds_a_clinic_and_measures_the_engine_on_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    built = dataset.build(url, 300, days_back=20, days_ahead=60, fresh=20)
    assert built.live + built.cancelled == 300
    db = create_engine(url)
    with db.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT (SELECT COUNT(*) FROM practitioners), (SELECT COUNT(*) FROM rooms), "
                "(SELECT COUNT(*) FROM devices), (SELECT COUNT(*) FROM appointments)"
            )
        ).one()
        # No practitioner is in two live sessions at once (the rule PostgreSQL enforces).
        overlaps = conn.execute(
            text(
                "SELECT COUNT(*) FROM appointments a JOIN appointments b "
                "ON a.practitioner_id = b.practitioner_id AND a.id < b.id "
                "AND a.start_at < b.busy_until_at AND b.start_at < a.busy_until_at "
                "WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'"
            )
        ).scalar()
    db.dispose()
    assert tuple(counts) == (20, 6, 3, 300)
    assert overlaps == 0

    figures = engine.run(
        url,
        busy_clients=built.busy_clients,
        fresh_clients=built.fresh_clients,
        seconds=0,
        min_runs=1,
        memory_runs=1,
        cases=2,
    )
    plan = figures["engine"]["plan_course"]
    assert plan["runs"] >= 1 and plan["median_ms"] > 0 and plan["peak_kib"] > 0
    assert figures["engine"]["plans_found"] == "2/2"
    assert figures["service"]["plan_course_for"]["runs"] >= 1


def test_history_variant_keeps_the_future_and_grows_only_the_past(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    small_url, big_url = (f"sqlite:///{tmp_path / n}" for n in ("small.db", "big.db"))
    window = dict(days_back=20, days_ahead=30, fresh=20, now=now)
    small = dataset.build(small_url, 200, **window)  # type: ignore[arg-type]
    big = dataset.build(big_url, 900, same_future_as=200, **window)  # type: ignore[arg-type]
    assert big.live + big.cancelled == 900
    assert big.live_ahead == small.live_ahead > 0

    def ahead(url: str) -> list[tuple[object, ...]]:
        db = create_engine(url)
        with db.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT practitioner_id, room_id, device_id, start_at, status FROM appointments "
                    "WHERE start_at >= :now ORDER BY start_at, practitioner_id"
                ),
                {"now": now.replace(tzinfo=None).isoformat(sep=" ")},
            ).all()
        db.dispose()
        return [tuple(r) for r in rows]

    assert ahead(big_url) == ahead(small_url)
    growth = engine.plan_growth(
        {"small": (small_url, small.fresh_clients), "big": (big_url, big.fresh_clients)},
        seconds=0.01,  # one timed call of each figure
        rounds=1,
        cases=2,
    )
    assert growth["big"]["plan_course_for"]["runs"] >= 1
    assert growth["small"]["plan_course"]["median_ms"] > 0
