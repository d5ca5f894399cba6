"""Time catalogue imports of 1,000, 10,000 and 100,000 courses on SQLite (issue 15).

    .venv/bin/python bench/catalogue_import.py                 # 1,000 / 10,000 / 100,000
    .venv/bin/python bench/catalogue_import.py --sizes 1000 5000 --profile

Each size gets a fresh SQLite file with the schema from the real migrations, then the demo
catalogue with `size` courses (each with aftercare, pre-care, contraindications and months,
like the demo's) goes through the command's own path (`catalogue_file.import_catalogue_file`), as
`flask catalogue import FILE` runs it: the first import creates everything, the second finds
everything unchanged. The file's size is printed beside it, since the time should follow it,
and the process's peak memory so far (the sizes run in increasing order, so it is the peak of
the size on its line). `--profile` prints pyinstrument's profile of the largest import.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.dataset import DEMO_CATALOGUE  # noqa: E402


def catalogue_with(courses: int) -> dict[str, Any]:
    """The demo catalogue with `courses` courses, cycling over the demo's own."""
    data: dict[str, Any] = json.loads(DEMO_CATALOGUE.read_text())
    demo = data["courses"]
    made = []
    for i in range(courses):
        course = copy.deepcopy(demo[i % len(demo)])
        course["code"] = f"{course['code']}_{i}"
        course["name"] = f"{course['name']} ({i})"
        made.append(course)
    data["courses"] = made
    return data


def time_import(size: int, folder: Path, *, profile: bool = False) -> dict[str, Any]:
    from flask_migrate import upgrade

    from clinic import create_app
    from clinic.services.staffing import catalogue_file

    data = catalogue_with(size)
    raw = json.dumps(data).encode()
    app = create_app("development", SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / f'{size}.db'}")
    with app.app_context():
        upgrade()
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        began = time.perf_counter()
        report, _ = catalogue_file.import_catalogue_file(json.loads(raw))
        first = time.perf_counter() - began
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False))
        began = time.perf_counter()
        again, _ = catalogue_file.import_catalogue_file(json.loads(raw))
        second = time.perf_counter() - began
    assert report.counts["courses"].created == size
    assert again.counts["courses"].unchanged == size
    return {"courses": size, "bytes": len(raw), "first": first, "again": second}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--profile", action="store_true", help="profile the largest import")
    args = parser.parse_args()
    print(
        f"{'courses':>8} {'file MB':>8} {'import s':>9} {'again s':>8} {'us/course':>10} "
        f"{'peak MB':>8}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            r = time_import(size, Path(folder), profile=args.profile and size == max(args.sizes))
            print(
                f"{r['courses']:>8,} {r['bytes'] / 1e6:>8.1f} {r['first']:>9.2f} "
                f"{r['again']:>8.2f} {r['first'] / size * 1e6:>10.0f} "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:>8.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
