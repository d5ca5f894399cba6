"""The care timeline (issue 22): what a client is told between booking and the end of a
course, and when; counted on the demo catalogue's glycolic course."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import OutboxMessage
from tests import factories as f
from tests.clock import NOW, local, local_day

# The demo catalogue's glycolic course (clinic/demo/catalogue.json): five aftercare and two
# pre-care windows, the no-sun one running from the pre-care into the aftercare.
GLYCOLIC = dict(
    sessions=6,
    min_interval_days=14,
    max_interval_days=28,
    aftercare=[
        ("no_uv", "sun", 168),
        ("no_makeup", "makeup", 24),
        ("no_actives", "other", 168),
        ("no_sauna", "other", 48),
        ("no_resurfacing", "other", 336),
    ],
    precare=[("no_uv", "sun", 336), ("no_retinoids", "other", 120)],
)


def three_weeks_apart(first=None, n: int = 6):
    first = first or local(2027, 1, 4, 10)  # a Monday, six weeks after NOW
    return [first + timedelta(days=21 * i) for i in range(n)]


@pytest.fixture
def glycolic(app):
    return f.make_booked_course(
        *three_weeks_apart(),
        course=GLYCOLIC,
        client=dict(email="ada@example.com", name="Ada"),
        now=NOW,
    )


def queued() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "queued")
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
        )
    )


def test_a_six_session_course_queues_at_most_16_messages_and_two_a_day(glycolic) -> None:
    messages = queued()
    per_day = Counter(local_day(m.due_at) for m in messages)
    assert len(messages) <= 16, Counter(m.kind for m in messages)
    assert max(per_day.values()) <= 2, per_day
