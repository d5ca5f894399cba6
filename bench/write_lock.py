"""SQLite's one write lock under 8 writers: how many transactions a second get through it when
each waits with SQLite's own busy handler, and when each asks again every millisecond (what
clinic/dbsetup.py's `_begin_writing` does).

    .venv/bin/python bench/write_lock.py

Each writer holds the lock `--hold` seconds (a booking's locked part, about 15 ms) and then
works as long again without it (the rest of the request), for `--seconds`. With a 15 ms lock
at most 66 transactions a second can pass; the figure to compare is how close each way of
waiting comes to that. Sleeping stands in for the work, so the machine's load hardly counts.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sqlite3
import tempfile
import time
from pathlib import Path


def _writer(path: str, poll: bool, hold: float, seconds: float, out: mp.Queue[int]) -> None:
    conn = sqlite3.connect(path, timeout=0 if poll else 5, isolation_level=None)
    done = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        if poll:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError:
                    time.sleep(0.001)
        else:
            conn.execute("BEGIN IMMEDIATE")
        time.sleep(hold)
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("COMMIT")
        done += 1
        time.sleep(hold)
    out.put(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hold", type=float, default=0.015)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--writers", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "lock.db")
        setup = sqlite3.connect(path)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x)")
        setup.commit()
        setup.close()
        for poll in (False, True):
            for writers in (1, args.writers):
                out: mp.Queue[int] = mp.Queue()
                procs = [
                    mp.Process(target=_writer, args=(path, poll, args.hold, args.seconds, out))
                    for _ in range(writers)
                ]
                for p in procs:
                    p.start()
                for p in procs:
                    p.join()
                total = sum(out.get() for _ in procs)
                how = "asking every ms" if poll else "SQLite's busy handler"
                print(f"{how:>22}, {writers} writer(s): {total / args.seconds:.1f} per second")
        print(
            f"ceiling with the lock held {args.hold * 1000:.0f} ms: {1 / args.hold:.1f} per second"
        )


if __name__ == "__main__":
    main()
