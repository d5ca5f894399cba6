"""Rules as booked on PostgreSQL: the enrolment's kept rules (a JSON column), adopting them,
and the staff calendar that reads the number of sessions out of them in SQL."""

from __future__ import annotations

import pytest

from tests.services.test_rules_as_booked import (  # noqa: F401
    setup,
    test_a_booked_course_keeps_its_spacing_when_the_template_minimum_grows,
    test_adopting_the_current_rules_is_refused_with_each_sessions_sentences,
    test_adopting_the_current_rules_writes_them_when_every_session_holds,
    test_an_import_that_changes_a_course_says_how_many_booked_courses_keep_their_rules,
    test_booking_keeps_the_rules_it_was_booked_under,
    test_editing_aftercare_hours_keeps_booked_and_past_windows_and_changes_new_ones,
    test_the_edit_notice_counts_booked_courses_with_sessions_to_come,
)
from tests.services.test_schedule import *  # noqa: F403

pytestmark = pytest.mark.pg
