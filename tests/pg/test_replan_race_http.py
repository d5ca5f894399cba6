"""A stale re-plan racing the client's own move, over HTTP: gunicorn with 4 workers on
PostgreSQL (issue 19, defect 5). Reception reads the attention list; then, at the same instant,
the client moves the flagged session herself and reception accepts the re-plan it read. Her
move must survive, or the re-plan be refused: never both written with hers undone."""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import pytest

from clinic.extensions import db
from clinic.models import Appointment
from clinic.services.core.actors import Actor
from clinic.services.staffing import time_off
from tests import factories as f
from tests.clock import local, monday
from tests.pg.http import Server, at_once
from tests.pg.test_client_changes_race import call, desk_token
from tests.pg.test_race_http import at

pytestmark = pytest.mark.pg

ROUNDS = 20
T = TypeVar("T")


def flagged_round(r: int, admin: Actor, desk: Actor) -> dict[str, object]:
    """Round r: a client of their own practitioner with sessions on days 0, 14 and 35 after a
    Monday, one hour per round; the practitioner has since taken session 2's day off (through
    the service: session 2 is flagged)."""
    practitioner = f.make_practitioner()
    client = f.make_client()
    first = monday(3 + r // 8)
    hour = 9 + r % 8
    enrolment = f.book(
        *(local(first + timedelta(days=d), hour) for d in (0, 14, 35)),
        client=client,
        practitioner=practitioner,
        by=desk,
        course_code="peel3",
    )
    ids = [a.id for a in sorted(enrolment.appointments, key=lambda a: a.session)]
    day = first + timedelta(days=14)
    change = time_off.add_time_off(
        actor=admin, practitioner_id=practitioner.id, start_on=day, end_on=day, confirm=True
    )
    assert {b.appointment_id for b in change.broken} == {ids[1]}
    return {
        "client": client.id,
        "enrolment": enrolment.id,
        "second": ids[1],
        "token": f.make_token(client.user_id),
        # Her own choice: the Thursday after, same hour (17 days after session 1).
        "hers": at(day + timedelta(days=3), hour),
    }


def later(delay: float, fn: Callable[..., T], *args: object) -> T:
    time.sleep(delay)
    return fn(*args)


def test_a_stale_replan_racing_the_clients_own_move_never_undoes_it(app, server: Server) -> None:
    f.make_clinic()
    f.make_course(
        code="peel3",
        name="Peel, 3 sessions",
        sessions=3,
        min_interval_days=14,
        max_interval_days=28,
        aftercare=[],
        contraindications=[],
    )
    admin, desk = f.actor("admin"), f.actor("receptionist")
    rounds = [flagged_round(r, admin, desk) for r in range(ROUNDS)]
    token = desk_token()
    outcomes: Counter[tuple[int, int]] = Counter()
    for r, rnd in enumerate(rounds):
        status, listed = call(server, "GET", f"/api/v1/attention?client={rnd['client']}", token)
        assert status == 200, listed
        [item] = listed
        assert [m["appointment"] for m in item["replan"]] == [rnd["second"]]
        theirs = datetime.fromisoformat(item["replan"][0]["start"])
        hers = datetime.fromisoformat(str(rnd["hers"]))
        assert theirs != hers
        moved, replanned = at_once(
            [
                functools.partial(
                    call,
                    server,
                    "PATCH",
                    f"/api/v1/appointments/{rnd['second']}",
                    str(rnd["token"]),
                    {"start": rnd["hers"]},
                ),
                functools.partial(
                    later,
                    # The client's move reads and judges more before it locks: reception's
                    # accept starts 0 to 190 ms after it, so that both orders are met.
                    0.01 * r,
                    call,
                    server,
                    "POST",
                    f"/api/v1/enrolments/{rnd['enrolment']}/replan",
                    token,
                    {"sessions": item["replan"]},
                ),
            ]
        )
        db.session.expire_all()
        where = db.session.get(Appointment, rnd["second"]).start_at
        db.session.commit()
        answers = (moved, replanned)
        assert moved[0] in (200, 409) and replanned[0] in (200, 409), answers
        assert 200 in (moved[0], replanned[0]), answers
        for status, answer in answers:
            if status == 409:
                assert answer["errors"][0]["code"] == "appointment_changed", answer
        if moved[0] == 200:
            # Her move stands: the re-plan was refused, or it came first and she moved after.
            assert where == hers, answers
        else:
            # The re-plan came first; her move, meant for the old time, was refused.
            assert where == theirs, answers
        outcomes[(moved[0], replanned[0])] += 1
    print("(client, re-plan) outcomes:", dict(outcomes))
