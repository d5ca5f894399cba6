"""The catalogue editor's wording of a course's rules, for forms not yet validated too."""

from __future__ import annotations

import pytest

from clinic.services.world.course_wording import month_span_text


@pytest.mark.parametrize(
    ("months", "words"),
    [
        ([10, 11, 12, 1, 2, 3], "October to March"),
        ([6, 8], "June, August"),
        (list(range(1, 13)), "all year"),
        ([13, 6], "June"),  # a month number a crafted form sent: left out, not a 500
        ([0, 13], "all year"),
    ],
)
def test_months_are_worded_as_spans_and_impossible_numbers_are_left_out(months, words) -> None:
    assert month_span_text(months) == words
