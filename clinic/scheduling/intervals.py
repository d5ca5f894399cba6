"""Sorted interval lists: merging and point queries by bisection."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import datetime


def merge(pairs: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Merge overlapping open intervals (lo, hi); ones that only touch stay apart."""
    out: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(pairs):
        if hi <= lo:
            continue
        if out and lo < out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def join(ranges: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Merge [start, end) ranges that overlap or touch: 09-13 and 13-18 are one stretch 09-18."""
    out: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(ranges):
        if hi <= lo:
            continue
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


class Blocked:
    """A merged set of open intervals (lo, hi); a point strictly inside one is blocked."""

    __slots__ = ("_los", "_his")

    def __init__(self, pairs: Iterable[tuple[datetime, datetime]]) -> None:
        merged = merge(pairs)
        self._los = [lo for lo, _ in merged]
        self._his = [hi for _, hi in merged]

    def blocks(self, point: datetime) -> bool:
        i = bisect_left(self._los, point) - 1
        return i >= 0 and self._his[i] > point


def inside_any(lo: datetime, hi: datetime, ranges: Sequence[tuple[datetime, datetime]]) -> bool:
    """Whether [lo, hi) lies inside one of the [start, end) ranges (a day has only a few)."""
    return any(start <= lo and hi <= end for start, end in ranges)


def intersect(
    a: Sequence[tuple[datetime, datetime]], b: Sequence[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The intersection of two sets of [start, end) ranges."""
    out = []
    for a_lo, a_hi in a:
        for b_lo, b_hi in b:
            lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
            if lo < hi:
                out.append((lo, hi))
    return sorted(out)
