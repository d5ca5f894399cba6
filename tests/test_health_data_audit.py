"""Showing a client's health data writes one audit entry, whichever page or API call shows it.

One clinic is built for the module through the real services: Ada's screening says she took
isotretinoin 100 days ago and Bea's that she is pregnant (and had rosacea), after both booked
a peel course, so the screening flags their sessions (world changes). Then every route of the
app (the url_map, not a hand list) is requested by every role, with the ids of each client's
rows, and the `view_screening` rows the request wrote are compared with what its answer shows:

- a client's health data is shown when the answer names one of her conditions in a sentence
  about her (a refusal, a flag: "while you have pregnancy or breastfeeding"), or gives her
  screening answers (the date of her last dose); the texts that name a condition without
  being about anyone (the catalogue's contraindications, the screening form's questions) are
  taken out first;
- staff: exactly one row per client shown, and none when no one's is;
- the client herself: none (docs/DECISIONS.md, "Health data shown").

Routes only a POST (or PATCH, PUT, DELETE) reaches are not walked blindly: those whose answer
can show a condition are requested explicitly below (previews of world changes, refusals of a
booking, a plan or a re-plan).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clinic import create_app
from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, AuditEntry, User
from clinic.scheduling.wording import condition_label, day_text, long_day_text
from clinic.services.catalogue import import_catalogue
from clinic.services.clinical import consents
from clinic.services.core.actors import actor_for
from clinic.services.people import calendar_feed, health_screening
from clinic.services.people.health_screening import ConditionAnswer
from tests import factories as f
from tests.clock import BERLIN, local, next_monday, today
from tests.routes import all_routes
from tests.web.conftest import quick_user

ROLES = ("client", "practitioner", "receptionist", "admin")
AUDITED = "view_screening"
# A signature's validity (days) that puts its end on a date no other answer shows (the booking
# horizon ends 365 days from today).
CONSENT_DAYS = 333
TODAY = today()


@dataclass
class Person:
    """A client of the test clinic and what would show her health data."""

    name: str
    client_id: int
    user_id: int
    enrolment_id: int
    appointment_id: int
    labels: tuple[str, ...]
    dates: tuple[date, ...]
    consent_id: int = 999999
    # The secret of her calendar feed (issue 22): the feed shows her sessions and care, not
    # her conditions or answers, so it is walked as any page and must show no health data.
    feed_token: str = "none"

    def fingerprints(self) -> list[str]:
        out = [f"while you have {label}" for label in self.labels]
        # Her treatment record and photos are health data whatever they hold (issue 21).
        out += [f"Treatment record of {self.name}", f"Photos of {self.name}"]
        out += [f"after {label}:" for label in self.labels]
        for d in self.dates:
            out += [d.isoformat(), day_text(d), long_day_text(d)]
        return out


@dataclass
class World:
    app: Flask
    people: list[Person]
    users: dict[str, int]
    practitioner_id: int
    session_day: date
    clients: dict[str, tuple[FlaskClient, dict[str, str]]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(migrated_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = tmp_path_factory.mktemp("audit") / "clinic.db"
    shutil.copy(migrated_template, path)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        yield _build(app)
        db.session.remove()
        db.engine.dispose()


def _build(app: Flask) -> World:
    f.make_clinic()
    course = f.make_course()  # contraindicated by pregnancy and by isotretinoin within 180 days
    # Consents are health data too (issue 21): Ada signs this form, Bea does not.
    import_catalogue(
        {
            "consent_forms": [
                {
                    "code": "peel_consent",
                    "title": "Peel consent",
                    "text": "A peel can cause redness.",
                    "valid_days": CONSENT_DAYS,
                    "procedures": ["peel"],
                }
            ]
        }
    )
    users = {role: quick_user(role).id for role in ROLES if role != "client"}
    treating = f.make_practitioner(name="Dana Derm", user_id=users["practitioner"])
    other = f.make_practitioner(name="Olga Other")
    desk = actor_for(db.session.get(User, users["receptionist"]))
    monday = next_monday(3)
    ada_dose = TODAY - timedelta(days=100)
    bea_rosacea = TODAY - timedelta(days=101)
    people = []
    for name, practitioner, hour, answers, labels, dates in (
        (
            "Ada Isotretinoin",
            treating,
            10,
            [ConditionAnswer("isotretinoin", False, ada_dose)],
            (condition_label("isotretinoin"),),
            (ada_dose,),
        ),
        (
            "Bea Pregnant",
            other,
            14,
            [
                ConditionAnswer("pregnancy", True, None),
                ConditionAnswer("rosacea", False, bea_rosacea),
            ],
            (condition_label("pregnancy"),),
            (bea_rosacea,),
        ),
    ):
        client = quick_user("client", name=name).client
        client.screening_confirmed_at = datetime.now(BERLIN)
        f.commit()
        enrolment = f.book(
            *(local(monday + timedelta(days=14 * k), hour) for k in range(3)),
            client=client,
            practitioner=practitioner,
            by=desk,
            course_code=course.code,
        )
        # The client's own new answers: kept, and they flag her booked sessions.
        change = health_screening.save_screening(actor=actor_for(client.user), answers=answers)
        assert change.saved and change.broken, name
        first = min(enrolment.appointments, key=lambda a: a.start_at)
        token = calendar_feed.issue_calendar_feed(actor=actor_for(client.user))
        people.append(
            Person(
                name,
                client.id,
                client.user_id,
                enrolment.id,
                first.id,
                labels,
                dates,
                feed_token=token,
            )
        )
    users["client"] = people[0].user_id  # the client role is Ada
    ada = people[0]
    signed = consents.sign_consent(
        actor=actor_for(db.session.get(User, ada.user_id)),
        client_id=None,
        form_code="peel_consent",
        signed_name=ada.name,
        agree=True,
    ).consent
    # Her consent shows through its date: it stands for her signatures in every answer.
    people[0] = dataclasses.replace(
        ada, dates=(*ada.dates, signed.valid_until), consent_id=signed.id
    )
    flagged = db.session.scalar(select(func.count()).select_from(AttentionFlag))
    assert flagged == 6  # every session of both courses, by the screening changes
    world = World(app, people, users, treating.id, monday)
    for role in ROLES:
        web = app.test_client()
        with web.session_transaction() as session:
            f.log_in(session, users[role])
        world.clients[role] = web, {"Authorization": f"Bearer {f.make_token(users[role])}"}
    return world


# --- what an answer shows ---------------------------------------------------------------

# Texts that name a condition without being about a client: the catalogue's contraindications
# (course pages, the course editor's list of codes) and the screening form's questions.
NOT_ABOUT_ANYONE = [
    re.compile(r"Not possible with:[^.]*\."),
    re.compile(r"not with [^;<\"]*"),
    re.compile(r"<datalist id=\"condition-codes\">.*?</datalist>", re.S),
    re.compile(r"<label[^>]*>[^<]*</label>"),
]


# The API's answers about a client's clinical record (its treatment record, photos, photo
# consent) are health data whatever they hold, as the pages titled with her name: JSON naming
# the client (`"client": ID`) beside one of these keys.
CLINICAL_JSON_KEYS = frozenset({"entries", "photos", "may_take"})


def _clinical_json_of(body: str) -> int | None:
    """The client whose clinical record this JSON answer shows, if it is one."""
    if not body.startswith("{"):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict) and CLINICAL_JSON_KEYS & set(data):
        client = data.get("client")
        return client if isinstance(client, int) else None
    return None


def shown(body: str, people: list[Person]) -> set[str]:
    """The clients whose health data the answer shows."""
    about = _clinical_json_of(body)
    for pattern in NOT_ABOUT_ANYONE:
        body = pattern.sub("", body)
    return {
        p.name for p in people if p.client_id == about or any(x in body for x in p.fingerprints())
    }


def audited_since(last_id: int, people: list[Person]) -> list[str]:
    names = {p.client_id: p.name for p in people}
    rows = db.session.scalars(
        select(AuditEntry.client_id).where(AuditEntry.id > last_id, AuditEntry.action == AUDITED)
    )
    return sorted(names.get(c or 0, f"client {c}") for c in rows)


def last_audit_id() -> int:
    return db.session.scalar(select(func.max(AuditEntry.id))) or 0


@dataclass
class Answer:
    status: int
    shown: list[str]
    audited: list[str]


def request_as(world: World, role: str, method: str, url: str, **kwargs: Any) -> Answer:
    """One request by a user of `role` (logged in once per role): its status, the clients
    whose health data its answer shows, and the `view_screening` entries it wrote."""
    g.pop("_login_user", None)  # the requests share the module's app context, and `g`
    web, headers = world.clients[role]
    if url.startswith("/api/"):
        kwargs["headers"] = headers
    db.session.remove()  # each request starts afresh, as in production
    before = last_audit_id()
    response = web.open(url, method=method, **kwargs)
    db.session.remove()
    body = response.get_data(as_text=True)
    return Answer(
        response.status_code,
        sorted(shown(body, world.people)),
        audited_since(before, world.people),
    )


def expected(role: str, answer: Answer) -> list[str]:
    return [] if role == "client" else answer.shown


# --- every GET route, every role --------------------------------------------------------


def _urls(world: World) -> list[tuple[str, str]]:
    """(endpoint, url) for every GET route, once with each client's rows as its ids."""
    out = []
    earliest = (world.session_day + timedelta(days=60)).isoformat()
    queries = {
        "staff.plan_rest": f"?earliest={earliest}",
        "booking.plan_rest": f"?earliest={earliest}",
        "booking.plan": f"?earliest={earliest}",
    }
    for person in world.people:
        values = {
            "client_id": person.client_id,
            "appointment_id": person.appointment_id,
            "enrolment_id": person.enrolment_id,
            "user_id": person.user_id,
            "practitioner_id": world.practitioner_id,
            "code": "peel_course",
            "kind": "course",
            "consent_id": person.consent_id,
            "token": person.feed_token,
            "topic": "care",
        }
        with world.app.test_request_context():
            for rule in world.app.url_map.iter_rules():
                if rule.endpoint == "static" or "GET" not in (rule.methods or ()):
                    continue
                args = {k: values.get(k, 999999) for k in rule.arguments}
                url = rule.build(args, append_unknown=False)
                assert url is not None
                out.append((rule.endpoint, url[1]))
                if rule.endpoint in queries:
                    out.append((rule.endpoint, url[1] + queries[rule.endpoint]))
    # Also the book page for each client (its proposals can be refused by a condition).
    for person in world.people:
        out.append(
            (
                "staff.book",
                f"/staff/book?client={person.client_id}&course=peel_course&day={earliest}",
            )
        )
    return sorted(set(out))


def test_every_get_route_audits_the_health_data_it_shows(world: World) -> None:
    assert {r.endpoint for r in all_routes(world.app) if r.method == "GET"} <= {
        e for e, _ in _urls(world)
    }
    wrong = []
    showing = 0
    for endpoint, url in _urls(world):
        for role in ROLES:
            answer = request_as(world, role, "GET", url)
            assert answer.status < 500, (endpoint, url, role, answer.status)
            showing += bool(answer.shown)
            if answer.audited != expected(role, answer):
                wrong.append(f"{role:12} GET {url}: shows {answer.shown}, audited {answer.audited}")
    assert showing > 0  # the detector sees health data somewhere
    assert wrong == [], "\n".join(wrong)


# --- answers to a POST (PATCH) that can show a condition -----------------------------------


def _explicit(world: World) -> list[tuple[str, tuple[str, ...], str, str, dict[str, Any]]]:
    """(what, roles, method, url, request arguments): previews and refusals that name a
    condition. Each is refused or only previewed: nothing in the clinic changes."""
    ada, bea = world.people
    monday = world.session_day
    tuesday = local(monday + timedelta(days=1), 10)  # within Ada's 180 days after isotretinoin
    earliest = (monday + timedelta(days=60)).isoformat()
    desk = ("receptionist", "admin")
    # The re-plan form carries each session as the list saw it (status, start, practitioner).
    first = db.session.get(Appointment, ada.appointment_id)
    assert first is not None
    seen = f"{first.status}|{first.start_at.isoformat()}|{first.practitioner_id}"
    return [
        (
            "time-off preview",
            ("admin",),
            "POST",
            f"/staff/admin/practitioners/{world.practitioner_id}/time-off",
            {"data": {"start_on": monday.isoformat(), "end_on": monday.isoformat()}},
        ),
        (
            "re-plan refused (page)",
            desk,
            "POST",
            f"/staff/enrolments/{ada.enrolment_id}/replan",
            {
                "data": {
                    "move": f"{ada.appointment_id}|{tuesday.isoformat()}|{world.practitioner_id}"
                    f"|{seen}"
                }
            },
        ),
        (
            "re-plan refused (API)",
            desk,
            "POST",
            f"/api/v1/enrolments/{ada.enrolment_id}/replan",
            {
                "json": {
                    "sessions": [{"appointment": ada.appointment_id, "start": tuesday.isoformat()}]
                }
            },
        ),
        (
            "plan the rest (API)",
            desk,
            "POST",
            f"/api/v1/enrolments/{bea.enrolment_id}/plan",
            {"json": {"earliest": earliest}},
        ),
        (
            "move refused (page)",
            desk,
            "POST",
            f"/staff/appointments/{ada.appointment_id}/move",
            {
                "data": {
                    "day": tuesday.date().isoformat(),
                    "time": "10:00",
                    "practitioner": str(world.practitioner_id),
                }
            },
        ),
        (
            "move refused (API)",
            ("client", *desk),
            "PATCH",
            f"/api/v1/appointments/{ada.appointment_id}",
            {"json": {"start": tuesday.isoformat()}},
        ),
        (
            "plan refused (API)",
            desk,
            "POST",
            "/api/v1/plans",
            {"json": {"course": "peel_course", "client": bea.client_id, "earliest": earliest}},
        ),
        (
            "screening preview (page)",
            desk,
            "POST",
            f"/staff/clients/{ada.client_id}/screening",
            {
                "data": {
                    "confirm": "y",  # the client confirmed; not yet the page's "save anyway"
                    "isotretinoin_present": "y",  # takes it again: her sessions break
                }
            },
        ),
    ]


def test_previews_and_refusals_audit_the_health_data_they_show(world: World) -> None:
    wrong = []
    for what, roles, method, url, kwargs in _explicit(world):
        for role in roles:
            answer = request_as(world, role, method, url, **kwargs)
            assert answer.status != 500, (what, role)
            assert answer.status not in (200, 201) or "preview" in what, (what, role)
            assert answer.shown, f"{what} as {role} shows no condition ({answer.status})"
            if answer.audited != expected(role, answer):
                wrong.append(f"{role:12} {what}: shows {answer.shown}, audited {answer.audited}")
    assert wrong == [], "\n".join(wrong)
