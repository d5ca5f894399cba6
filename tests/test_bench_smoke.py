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
        min_runs=2,
        memory_runs=1,
        cases=2,
    )
    plan = figures["engine"]["plan_course"]
    assert plan["runs"] >= 2 and plan["median_ms"] > 0 and plan["peak_kib"] > 0
    assert figures["engine"]["plans_found"] == "2/2"
    assert figures["service"]["plan_course_for"]["runs"] >= 2
