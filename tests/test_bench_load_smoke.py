"""The load benchmarks' own code (mixed load, a change of the world, the catalogue import), at a
tiny size, so that `make bench` cannot rot unnoticed. Apart from tests/test_bench_smoke.py so that
the two run on different pytest-xdist workers (`--dist loadfile`)."""

from __future__ import annotations

from pathlib import Path

from bench import dataset


def test_mixed_load_runs_every_slice_on_a_small_clinic(tmp_path: Path) -> None:
    from bench import mixed

    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    built = dataset.build(url, 300, days_back=20, days_ahead=60, fresh=40)
    figures = mixed.mixed_figures(url, built, slice_seconds=0.3, rounds=1, workers=1)
    for name in ("healthz", "minimal_healthz", "plans_alone", "mixed_plans", "mixed_healthz"):
        assert figures[name]["requests"] > 0 and set(figures[name]["statuses"]) == {"200"}, name
    for name in ("mixed_bookings", "desk_1", "desks_8"):
        assert figures[name]["bookings_per_s"] > 0 and figures[name]["not_201"] == 0, name
    assert figures["ratios"]["healthz_over_minimal_p50"] is not None
    assert "Mixed load (issue 13), sqlite" in mixed.table({"sqlite": figures})


def test_the_lifetime_bench_measures_a_dry_run_and_the_attention_list(tmp_path: Path) -> None:
    from bench import lifetime

    url = f"sqlite:///{tmp_path / 'lifetime.db'}"
    dataset.build(url, 600, days_back=10, days_ahead=40, fresh=10)
    figures = lifetime.measure_clinic(url, seconds=0, min_runs=1)
    assert figures["dry_run_day"]["in_scope"] >= 1
    assert figures["dry_run_week"]["in_scope"] >= figures["dry_run_day"]["in_scope"]
    assert figures["attention_list"]["flagged"] >= 1
    assert figures["attention_list"]["median_ms"] > 0


def test_the_catalogue_import_bench_runs_at_a_tiny_size(tmp_path: Path) -> None:
    from bench import catalogue_import

    figures = catalogue_import.time_import(30, tmp_path)
    assert figures["courses"] == 30 and figures["bytes"] > 0
    assert figures["first"] > 0 and figures["again"] > 0
