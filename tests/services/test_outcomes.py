"""Outcomes of sessions (DOMAIN.md "No-show and make-up"): completion with both policies,
flags, the make-up's spacing, corrections and refusals."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, ClinicSettings, Enrolment, OutboxMessage
from clinic.scheduling import ProposedSession, check_course
from clinic.scheduling.wording import moment_text
from clinic.services.core.actors import Actor
from clinic.services.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from clinic.services.courses import cancellation, course_rest, outcomes
from clinic.services.world import client_reads
from clinic.services.world.aftercare import enrolment_rules
from clinic.services.world.progress import enrolment_progress
from clinic.services.world.snapshot import load_snapshot
from tests import factories as f
from tests.clock import BERLIN, NOW

FIRST = datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)  # a Tuesday
SECOND = FIRST + timedelta(days=14)  # Tue 15 Dec
AFTER = SECOND + timedelta(hours=2)
LINK = "http://clinic.example/my/sessions"


@pytest.fixture
def two(app):
    """A two-session peel course (14-28 days apart) booked for Ada, both sessions."""
    booked = f.make_booked_course(
        FIRST,
        SECOND,
        course=dict(sessions=2),
        client=dict(email="ada@example.com", name="Ada"),
        now=NOW,
    )
    first, second = booked.ids
    return {
        "desk": booked.desk,
        "client": booked.client,
        "practitioner": booked.practitioner,
        "enrolment_id": booked.enrolment.id,
        "first": first,
        "second": second,
    }


def mark(setup, which: str, status: str, now: datetime = AFTER, **kw):
    actor = kw.pop("actor", setup["desk"])
    return outcomes.record_outcome(
        actor=actor, appointment_id=setup[which], status=status, now=now, **kw
    )


def enrolment(setup) -> Enrolment:
    row = db.session.get(Enrolment, setup["enrolment_id"])
    assert row is not None
    return row


def missed_messages() -> list[OutboxMessage]:
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "missed_session"))
    )


def use_up_policy() -> None:
    settings = db.session.scalar(select(ClinicSettings))
    assert settings is not None
    settings.no_show_uses_session = True
    f.commit()


def test_a_course_whose_sessions_are_all_done_is_completed(two) -> None:
    mark(two, "first", "done")
    assert enrolment(two).status == "active"
    mark(two, "second", "done")
    assert enrolment(two).status == "completed"
    assert missed_messages() == []


def test_a_no_show_keeps_a_make_up_session_and_the_course_active(two) -> None:
    mark(two, "first", "done")
    mark(two, "second", "no_show", sessions_link=LINK)
    row = enrolment(two)
    assert row.status == "active"
    progress = enrolment_progress(row)
    assert (progress.total, progress.held, progress.missed, progress.remaining) == (3, 1, 1, 1)
    [message] = missed_messages()
    assert message.to_email == "ada@example.com"
    assert message.appointment_id == two["second"]
    assert (
        "You missed session 2 of Glycolic peel on Tue 15 Dec 2026; your course keeps a "
        f"make-up session: book it from My sessions: {LINK}"
    ) in message.body
    # The make-up's earliest date is offered: the one "Plan the next session" proposes.
    offered = course_rest.plan_rest(
        actor=two["desk"], enrolment_id=two["enrolment_id"], count=1, now=AFTER
    )
    when = moment_text(offered.sessions[0].slot.start.astimezone(ZoneInfo(f.TZ)))
    assert f"The earliest date that keeps your course's spacing is {when};" in message.body


def test_a_no_show_uses_the_session_up_under_the_clinics_policy(two) -> None:
    use_up_policy()
    mark(two, "first", "done")
    mark(two, "second", "no_show", sessions_link=LINK)
    assert enrolment(two).status == "completed"
    [message] = missed_messages()
    assert "under the clinic's policy a missed session is used up" in message.body
    assert "make-up" not in message.body


def test_a_no_show_under_the_policy_says_what_is_left_to_book(two) -> None:
    use_up_policy()
    mark(two, "first", "no_show", now=FIRST + timedelta(hours=1), sessions_link=LINK)
    [message] = missed_messages()
    assert "Your other booked sessions stay as they are." in message.body
    assert enrolment(two).status == "active"


def test_a_no_show_starts_no_restriction_and_spacing_counts_from_the_last_held(two) -> None:
    """Sessions 1 done, 2 no-show: the make-up (session 3) is spaced from session 1."""
    mark(two, "first", "done")
    mark(two, "second", "no_show")
    state = client_reads.client_state(two["client"].id, AFTER, enrolments=(two["enrolment_id"],))
    assert [s.session for s in state.sessions] == [1]  # the no-show neither restricts nor spaces
    course = enrolment_rules(db.session.get(Enrolment, state.sessions[0].enrolment_id))

    def check(start: datetime):
        return check_course(
            snapshot=load_snapshot(),
            course=course,
            client=state,
            proposals=[ProposedSession(3, start.astimezone(UTC), two["practitioner"].id)],
            now=AFTER,
            enrolment_id=two["enrolment_id"],
            by_staff=True,
        )

    # The day after the no-show is 15 days after session 1: fine (from session 2 it would
    # be 1 day, too close).
    assert check(SECOND + timedelta(days=1)).ok
    # 29 days after session 1 is too far, though only 15 after the no-show.
    late = check(FIRST + timedelta(days=29))
    assert [v.code for v in late.violations] == ["spacing_too_far"]


def test_recording_an_outcome_removes_the_sessions_flag(two) -> None:
    db.session.add(
        AttentionFlag(
            appointment_id=two["second"],
            errors=[{"code": "practitioner_unavailable", "message": "Away."}],
            cause="time off",
        )
    )
    db.session.commit()
    mark(two, "second", "done")
    assert db.session.get(AttentionFlag, two["second"]) is None


def test_a_session_that_has_not_started_is_refused(two) -> None:
    with pytest.raises(RuleViolation) as refused:
        mark(two, "second", "done", now=SECOND - timedelta(minutes=1))
    assert [v.code for v in refused.value.violations] == ["not_started"]
    assert db.session.get(Appointment, two["second"]).status == "booked"


def test_a_client_may_not_record_an_outcome(two) -> None:
    with pytest.raises(PermissionDenied):
        mark(two, "first", "done", actor=f.client_actor(two["client"]))
    assert db.session.get(Appointment, two["first"]).status == "booked"


def test_a_practitioner_records_their_own_sessions_only(two) -> None:
    own = Actor(user_id=None, role="practitioner", practitioner_id=two["practitioner"].id)
    assert mark(two, "first", "done", actor=own).status == "done"
    stranger = dataclasses.replace(own, practitioner_id=f.make_practitioner().id)
    with pytest.raises(NotFound):
        mark(two, "second", "done", actor=stranger)


def test_a_cancelled_session_has_no_outcome(two) -> None:
    cancellation.cancel_appointment(actor=two["desk"], appointment_id=two["second"], now=NOW)
    with pytest.raises(Conflict) as refused:
        mark(two, "second", "done")
    assert refused.value.code == "appointment_changed"


def test_staff_correct_done_to_no_show_and_the_course_opens_again(two) -> None:
    mark(two, "first", "done")
    mark(two, "second", "done")
    assert enrolment(two).status == "completed"
    mark(two, "second", "no_show", sessions_link=LINK)
    assert enrolment(two).status == "active"
    assert len(missed_messages()) == 1
    mark(two, "second", "no_show")  # the same outcome again tells nobody twice
    assert len(missed_messages()) == 1


def test_a_no_show_turns_done_until_its_make_up_is_booked(two) -> None:
    mark(two, "first", "done")
    mark(two, "second", "no_show")
    mark(two, "second", "done")
    assert enrolment(two).status == "completed"
    mark(two, "second", "no_show")
    second = db.session.get(Appointment, two["second"])
    assert second is not None
    makeup = Appointment(
        enrolment_id=two["enrolment_id"],
        session=3,
        client_id=two["client"].id,
        practitioner_id=second.practitioner_id,
        device_id=None,
        room_id=second.room_id,
        start_at=SECOND + timedelta(days=2),
        end_at=SECOND + timedelta(days=2, minutes=45),
        busy_until_at=SECOND + timedelta(days=2, minutes=60),
        status="booked",
        override_reason="",
    )
    db.session.add(makeup)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        mark(two, "second", "done")
    assert refused.value.code == "makeup_booked"
    assert db.session.get(Appointment, two["second"]).status == "no_show"


def test_a_click_meant_for_a_booked_session_is_refused_once_someone_recorded_it(two) -> None:
    mark(two, "first", "no_show")
    with pytest.raises(Conflict) as refused:
        mark(two, "first", "done", seen="booked")
    assert refused.value.code == "appointment_changed"
    assert "marked as a no-show by someone else" in refused.value.message
    assert db.session.get(Appointment, two["first"]).status == "no_show"


# --- a message queued for a state that no longer holds is withdrawn (issue 19, defect 9) ---


def messages_by_kind() -> dict[str, int]:
    out: dict[str, int] = {}
    for m in db.session.scalars(select(OutboxMessage)):
        out[m.kind] = out.get(m.kind, 0) + 1
    return out


def test_a_no_show_corrected_to_done_withdraws_the_unsent_missed_session_message(two) -> None:
    mark(two, "first", "no_show", sessions_link=LINK)
    assert [m.status for m in missed_messages()] == ["queued"]
    mark(two, "first", "done")
    assert missed_messages() == []


def test_a_missed_session_message_already_sent_is_not_touched_by_a_correction(two) -> None:
    mark(two, "first", "no_show", sessions_link=LINK)
    [message] = missed_messages()
    message.status, message.sent_at, message.attempts = "sent", AFTER, 1
    db.session.commit()
    mark(two, "first", "done")
    db.session.expire_all()
    [kept] = missed_messages()
    assert (kept.id, kept.status) == (message.id, "sent")


def test_a_missed_session_message_being_sent_is_not_touched_by_a_correction(two) -> None:
    mark(two, "first", "no_show", sessions_link=LINK)
    [message] = missed_messages()
    message.claimed_until = AFTER + timedelta(minutes=5)  # a sender holds it right now
    db.session.commit()
    mark(two, "first", "done")
    db.session.expire_all()
    assert [m.id for m in missed_messages()] == [message.id]


def test_withdrawing_a_missed_session_message_leaves_the_other_messages(two) -> None:
    mark(two, "first", "no_show", sessions_link=LINK)
    mark(two, "second", "no_show", sessions_link=LINK)
    before = messages_by_kind()
    assert before["missed_session"] == 2 and before["booking_confirmation"] == 1
    mark(two, "first", "done")
    after = messages_by_kind()
    assert after == before | {"missed_session": 1}
    [left] = missed_messages()
    assert left.appointment_id == two["second"]  # the other session's no-show still holds


def test_a_session_marked_no_show_again_after_a_correction_is_told_once(two) -> None:
    mark(two, "first", "no_show", sessions_link=LINK)
    mark(two, "first", "done")
    mark(two, "first", "no_show", sessions_link=LINK)
    [message] = missed_messages()
    assert message.status == "queued" and message.appointment_id == two["first"]
