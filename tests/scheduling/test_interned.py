"""Equal rules become one object, so the engine's caches compare their keys by identity."""

from __future__ import annotations

from dataclasses import replace

from clinic.scheduling import interned

from .builders import PEEL, PEEL_COURSE, plain


def test_equal_course_rules_are_one_object() -> None:
    a, b = plain(PEEL_COURSE, sessions=3), plain(PEEL_COURSE, sessions=3)
    assert a is not b
    assert interned(a) is interned(b)
    assert interned(b) == b


def test_different_rules_stay_apart() -> None:
    three, four = plain(PEEL_COURSE, sessions=3), plain(PEEL_COURSE, sessions=4)
    assert interned(three) is not interned(four)
    assert interned(four).sessions == 4
    longer = replace(PEEL, duration=PEEL.duration * 2)
    assert interned(longer) is not interned(PEEL)
    assert interned(longer).duration == PEEL.duration * 2
