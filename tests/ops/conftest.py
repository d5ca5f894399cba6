"""Fault tests on real disks: a small tmpfs mounted for the test, made read-only or filled.

Mounting needs root (CI runs as root); elsewhere the tests skip, and under CI=true they fail
(tests/conftest.py `missing`). Nothing here is a mock: SQLite meets the real read-only file
system or the real "No space left on device".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing

DISK_KIB = 4096


class Disk:
    """A tmpfs of its own, mounted at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _mount(self, *options: str) -> None:
        done = subprocess.run(
            ["mount", *options, str(self.path)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr

    def make_read_only(self) -> None:
        self._mount("-o", "remount,ro")

    def fill(self) -> None:
        """Write a file until the disk has no space left."""
        chunk = b"\0" * 65536
        with (self.path / "filler").open("wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(chunk)
            except OSError:
                pass
        with (self.path / "filler").open("ab", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0")
            except OSError:
                pass
        assert shutil.disk_usage(self.path).free == 0


@pytest.fixture
def disk() -> Iterator[Disk]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        missing("mounting a tmpfs for the disk fault tests needs root and mount(8)")
    path = Path(tempfile.mkdtemp(prefix="clinic-disk-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_KIB}k,mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        path.rmdir()
        missing(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield Disk(path)
    finally:
        subprocess.run(["umount", "--lazy", str(path)], capture_output=True, check=False)
        shutil.rmtree(path, ignore_errors=True)
