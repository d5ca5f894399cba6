"""offer_day: a day's offer is exactly the starts the change's check accepts, asked fresh."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import event, given
from hypothesis import strategies as st

from clinic.scheduling import ProposedSession, Slot, check_course, offer_day
from clinic.scheduling.resources import DayResources

from .builders import ANNA, BEN, NOW, PEEL, PEEL_COURSE, booked, client, local_at, snapshot
from .test_properties import COURSES, SETTINGS, START, clients, occupancies


@SETTINGS
@given(
    busy=occupancies(),
    who=clients(),
    course=st.sampled_from(COURSES),
    day=st.integers(0, 40),
    practitioner=st.sampled_from([None, ANNA, BEN]),
)
def test_an_offer_is_exactly_what_the_check_accepts(busy, who, course, day, practitioner) -> None:
    snap = snapshot(busy)
    on = START + timedelta(days=day)

    def ask(start, days=None):
        return check_course(
            snapshot=snap,
            course=course,
            client=who,
            proposals=[ProposedSession(1, start, practitioner)],
            now=NOW,
            days=days,
        )

    offer = offer_day(
        snapshot=snap,
        procedure=course.procedure,
        day=on,
        now=NOW,
        judge=lambda slot, days: ask(slot.start, days),
    )
    event("offers" if offer.slots else "none")
    accepted = [
        start
        for start in DayResources(snap, course.procedure, on).grid()
        if ask(start).ok  # asked fresh: no day resources shared
    ]
    assert [s.start for s in offer.slots] == accepted
    assert (offer.why_none is None) == bool(accepted)
    for slot in offer.slots:
        assert ask(slot.start).slots == (slot,)


def _judge_spacing(first: date):
    previous = booked(local_at(first), PEEL_COURSE, session=1)
    who = client(sessions=[previous])

    def judge(slot: Slot, days):
        return check_course(
            snapshot=snapshot([]),
            course=PEEL_COURSE,
            client=who,
            proposals=[ProposedSession(2, slot.start)],
            now=NOW,
            enrolment_id=previous.enrolment_id,
            days=days,
        )

    return judge


def test_a_day_without_offers_names_the_rule_that_refused_its_starts() -> None:
    first = date(2026, 1, 12)  # a Monday
    on = first + timedelta(days=3)
    offer = offer_day(
        snapshot=snapshot([]), procedure=PEEL, day=on, now=NOW, judge=_judge_spacing(first)
    )
    assert offer.slots == ()
    assert offer.why_none is not None
    assert offer.why_none.startswith("No time on Thu 15 Jan 2026 fits: Session 2 must be at least")


def test_a_closed_day_says_so() -> None:
    sunday = date(2026, 1, 18)
    offer = offer_day(
        snapshot=snapshot([]),
        procedure=PEEL,
        day=sunday,
        now=NOW,
        judge=_judge_spacing(date(2026, 1, 5)),
    )
    assert offer.why_none == "The clinic is closed on Sun 18 Jan 2026."
