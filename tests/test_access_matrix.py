"""Who may reach what: every route of the app, tried by every role and by an anonymous user.

The table below says, for each route and method, which roles get through the route's gate.
A route missing from the table fails the test, so a new route must be classified here.

"deny" means the gate turned the request away: 401 or 403, or a redirect to the login page
(`/login?next=...`). Anything else is "allow": a page, a redirect elsewhere, or the route's own
answer to our sample request (400/404/422 on sample ids and bodies). A 500 always fails.

Ids in URLs belong to no row, so this tests role gates, not ownership; who may see which
client's record is tested in the services and web tests.

The same walk also checks each gated view against the permission question it names (the end
of this module): one walk, two checks, since the requests would be the same.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask, g

from clinic.auth import access
from clinic.auth.access import Question
from clinic.extensions import db
from clinic.models import User, utcnow
from clinic.services.core.actors import Actor, actor_for
from tests import factories as f
from tests.conftest import ReusedApp
from tests.routes import Route, all_routes

ANONYMOUS = "anonymous"
ROLES = ("client", "practitioner", "receptionist", "admin")
EVERYONE = frozenset({ANONYMOUS, *ROLES})
USERS = frozenset(ROLES)
CLIENT = frozenset({"client"})
STAFF = frozenset({"practitioner", "receptionist", "admin"})
DESK = frozenset({"receptionist", "admin"})
CATALOGUE = frozenset({"practitioner", "admin"})
ADMIN = frozenset({"admin"})
CLINICAL = frozenset({"practitioner", "admin"})  # treatment records and photos

EXPECTED: dict[str, frozenset[str]] = {
    # public pages and documents
    "GET booking.index": EVERYONE,
    "GET booking.courses": EVERYONE,
    "GET health.healthz": EVERYONE,
    "GET auth.login": EVERYONE,
    "POST auth.login": EVERYONE,
    "GET auth.signup": EVERYONE,
    "POST auth.signup": EVERYONE,
    "GET auth.forgot_password": EVERYONE,
    "POST auth.forgot_password": EVERYONE,
    "GET auth.reset_password": EVERYONE,
    "POST auth.reset_password": EVERYONE,
    # the link in every email (a signed token, no login) and RFC 8058's one-click unsubscribe
    "GET auth.message_choices_by_link": EVERYONE,
    "POST auth.message_choices_by_link": EVERYONE,
    "GET auth.unsubscribe": EVERYONE,
    "POST auth.unsubscribe": EVERYONE,
    "GET api.openapi": EVERYONE,
    "POST api.create_token": EVERYONE,
    # any logged-in user
    "POST auth.logout": USERS,
    "POST auth.logout_everywhere": USERS,
    "GET auth.change_password": USERS,
    "POST auth.change_password": USERS,
    # the client's own pages
    "GET auth.profile": CLIENT,
    "POST auth.profile": CLIENT,
    "POST auth.save_message_choices": CLIENT,
    "GET auth.export_data": CLIENT,
    "GET auth.erase": CLIENT,
    "POST auth.erase": CLIENT,
    "GET booking.screening": CLIENT,
    "POST booking.screening": CLIENT,
    "GET booking.periods": CLIENT,
    "GET booking.consents_page": CLIENT,
    "GET booking.sign_consent": CLIENT,
    "POST booking.sign_consent": CLIENT,
    "GET booking.signed_consent": CLIENT,
    "POST staff.record_paper_consent": DESK,
    "GET staff.client_consent": STAFF,
    "POST booking.periods": CLIENT,
    "POST booking.delete_period": CLIENT,
    "GET booking.plan": CLIENT,
    "POST booking.plan": CLIENT,
    "GET booking.review": CLIENT,
    "GET booking.swap": CLIENT,
    "POST booking.book": CLIENT,
    "GET booking.my_sessions": CLIENT,
    "GET booking.plan_rest": CLIENT,
    "POST booking.book_rest": CLIENT,
    "GET booking.appointment_ics": CLIENT,
    "GET booking.calendar_ics": CLIENT,
    # the client's calendar feed: its secret URL is the key (404 for the sample token)
    "GET booking.calendar_feed": EVERYONE,
    "POST auth.issue_calendar_feed": CLIENT,
    "POST auth.revoke_calendar_feed": CLIENT,
    "GET booking.move": CLIENT,
    "POST booking.move": CLIENT,
    "GET booking.cancel": CLIENT,
    "POST booking.cancel": CLIENT,
    # staff pages
    "GET staff.index": STAFF,
    "GET staff.calendar": STAFF,
    "GET staff.list_clients": STAFF,
    "GET staff.show_client": STAFF,
    "GET staff.show_appointment": STAFF,
    "POST staff.record_outcome": STAFF,
    "POST staff.record_reaction": STAFF,
    "GET staff.new_client": DESK,
    "POST staff.new_client": DESK,
    "GET staff.edit_client": DESK,
    "POST staff.edit_client": DESK,
    "GET staff.record_screening": DESK,
    "POST staff.record_screening": DESK,
    "GET staff.book": DESK,
    "POST staff.book": DESK,
    "POST staff.move_appointment": DESK,
    "POST staff.cancel_appointment": DESK,
    "POST staff.cancel_enrolment": DESK,
    "GET staff.plan_rest": DESK,
    "POST staff.book_rest": DESK,
    "GET staff.preview_enrolment_rules": DESK,
    "POST staff.adopt_enrolment_rules": DESK,
    "GET staff.attention": STAFF,
    "POST staff.accept_replan": DESK,
    "GET staff.catalogue": CATALOGUE,
    "GET staff.new_record": CATALOGUE,
    "POST staff.new_record": CATALOGUE,
    "GET staff.edit_record": CATALOGUE,
    "POST staff.edit_record": CATALOGUE,
    "POST staff.retire_record": CATALOGUE,
    "GET staff.audit_trail": ADMIN,
    # treatment records and photos (health data): the client's practitioners and the admin
    "GET staff.treatment_record": CLINICAL,
    "POST staff.treatment_record": CLINICAL,
    "POST staff.upload_photo": frozenset({"practitioner"}),
    "GET staff.show_photo": CLINICAL,
    "GET staff.compare_photos": CLINICAL,
    "POST staff.record_photo_consent": STAFF,
    "POST staff.push_course": DESK,
    "GET booking.my_photos": CLIENT,
    "GET booking.my_photo": CLIENT,
    # the clinic's set-up: admins only
    "GET staff.admin_home": ADMIN,
    "POST staff.create_staff_user": ADMIN,
    "POST staff.update_staff_user": ADMIN,
    "POST staff.end_staff_logins": ADMIN,
    "POST staff.update_policy": ADMIN,
    "POST staff.set_opening_hours": ADMIN,
    "POST staff.add_holiday": ADMIN,
    "POST staff.remove_holiday": ADMIN,
    "POST staff.save_room": ADMIN,
    "POST staff.save_device": ADMIN,
    "POST staff.set_active": ADMIN,
    "GET staff.edit_practitioner": ADMIN,
    "POST staff.edit_practitioner": ADMIN,
    "POST staff.add_time_off": ADMIN,
    "POST staff.remove_time_off": ADMIN,
    "POST staff.set_practitioner_active": ADMIN,
    "GET staff.export_catalogue": ADMIN,
    "POST staff.import_catalogue": ADMIN,
    "GET booking.dev_outbox": ADMIN,  # and anyone logged in, in development only
    # JSON API: every call but the token and the document needs a token; staff-only calls
    # are refused to clients, booking calls to practitioners (reception or the client books).
    "GET api.list_courses": USERS,
    "GET api.list_consent_forms": USERS,
    "GET api.list_practitioners": USERS,
    "GET api.availability": USERS,
    "POST api.create_client": DESK,
    "GET api.get_screening": USERS,
    "PUT api.put_screening": USERS - {"practitioner"},  # practitioners read it, not change it
    "POST api.create_period": USERS,
    "GET api.list_consents": USERS,
    "POST api.sign_consent": USERS - {"practitioner"},  # practitioners read consents
    "POST api.create_plan": USERS - {"practitioner"},
    "POST api.create_enrolment": USERS - {"practitioner"},
    "GET api.get_enrolment": USERS,
    "POST api.plan_enrolment_rest": USERS,  # the sample id is no one's: 404 before the role
    "POST api.book_enrolment_sessions": USERS,
    "GET api.list_appointments": USERS,
    "GET api.get_appointment": USERS,
    "PATCH api.move_appointment": USERS,
    "DELETE api.cancel_appointment": USERS,
    "POST api.record_outcome": STAFF,
    "POST api.record_reaction": STAFF,
    "GET api.appointment_calendar": USERS,
    "GET api.client_calendar": USERS,
    "DELETE api.delete_token": USERS,
    "GET api.list_attention": STAFF,
    "POST api.accept_replan": DESK,
    "DELETE api.delete_user_tokens": ADMIN,  # or the user itself; the sample id is no one's
    # treatment records and photos (health data): read by the client's practitioners and the
    # admin, written by the practitioner who held the session; photos also shown to the
    # client (the sample id is no one's: 404); the photo consent recorded by reception, the
    # client's practitioners or the client
    "GET api.list_records": CLINICAL,
    "POST api.create_record": frozenset({"practitioner"}),
    "PATCH api.edit_record": frozenset({"practitioner"}),
    "POST api.sign_record": frozenset({"practitioner"}),
    "POST api.upload_photo": frozenset({"practitioner"}),
    "GET api.show_photo": USERS,
    "GET api.show_photo_thumbnail": USERS,
    "GET api.get_photo_consent": USERS,
    "PUT api.set_photo_consent": USERS,
}

# Well-formed JSON bodies, so that the API's gates are reached and not its schema checks: the
# sample day lies inside the clinic's booking horizon (services/date_range.py).
DAY = (utcnow() + timedelta(days=60)).date().isoformat()
START = f"{DAY}T10:00:00+01:00"
BODIES = {
    "POST api.create_client": lambda role: {"email": f"matrix-{role}@example.com", "name": "New"},
    "PUT api.put_screening": lambda role: {"conditions": []},
    "POST api.sign_consent": lambda role: {
        "form": "no_such_form",
        "signed_name": "A",
        "agree": True,
    },
    "POST api.create_period": lambda role: {
        "kind": "sun_exposure",
        "start": "2030-07-01",
        "end": "2030-07-10",
    },
    "POST api.create_plan": lambda role: {"course": "no_such_course", "earliest": DAY},
    "POST api.create_enrolment": lambda role: {
        "course": "no_such_course",
        "sessions": [{"start": START}],
    },
    "PATCH api.move_appointment": lambda role: {"start": START},
    "POST api.book_enrolment_sessions": lambda role: {"sessions": [{"start": START}]},
    "POST api.record_outcome": lambda role: {"outcome": "done"},
    "POST api.record_reaction": lambda role: {"note": "Redness"},
    "POST api.accept_replan": lambda role: {"sessions": [{"appointment": 1, "start": START}]},
    "POST api.create_token": lambda role: {"email": "token@example.com", "password": "password123"},
    "POST api.create_record": lambda role: {"reaction": 1, "notes": "Calm skin."},
    "PATCH api.edit_record": lambda role: {"notes": "Calm skin."},
    "PUT api.set_photo_consent": lambda role: {"may_take": True, "may_show_client": False},
}
# Bodies sent as multipart/form-data (uploads), made afresh for each request.
FORMS = {
    "POST api.upload_photo": lambda role: {
        "photo": (io.BytesIO(b"not read: the gate answers first"), "photo.jpg"),
        "kind": "before",
    },
}


def _answer(app: Flask, route: Route, role: str, user_ids: dict[str, int]) -> tuple[int, str]:
    """The status and Location of `route` requested by a user of `role` (or anonymously)."""
    # The requests share the walk's app context, and with it `g`, where Flask-Login keeps
    # the user it loaded: forget the previous request's user.
    g.pop("_login_user", None)
    web = app.test_client()
    headers = {}
    api = route.url.startswith("/api/")
    if role != ANONYMOUS:
        if api:
            headers["Authorization"] = f"Bearer {f.make_token(user_ids[role])}"
        else:
            with web.session_transaction() as session:
                f.log_in(session, user_ids[role])
    body = BODIES.get(route.key)
    kwargs = {"json": body(role)} if body else ({"json": {}} if api else {})
    if route.key in FORMS:
        kwargs = {"data": FORMS[route.key](role), "content_type": "multipart/form-data"}
    if route.method in ("GET", "DELETE"):
        kwargs = {}
    response = web.open(route.url, method=route.method, headers=headers, **kwargs)
    return response.status_code, response.headers.get("Location", "")


def _denied(status: int, location: str) -> bool:
    return status in (401, 403) or (status in (302, 303) and "/login?next=" in location)


def _users() -> dict[str, int]:
    f.make_clinic()
    f.make_user("client", email="token@example.com", password="password123")
    ids = {}
    for role in ROLES:
        user = f.make_user(role)
        if role == "practitioner":
            practitioner = f.make_practitioner(email=user.email, name=user.name)
            practitioner.user_id = user.id
            f.commit()
        ids[role] = user.id
    return ids


@dataclass
class Walk:
    """Every route requested once by an anonymous visitor and by a user of each role."""

    routes: list[Route]
    answers: dict[tuple[Route, str], tuple[int, str]]  # (route, role) -> status, Location
    actors: dict[str, Actor]  # what each role's user is to the permission questions
    gated: list[tuple[Route, Question]]  # the routes a permission question gates, and it


@pytest.fixture(scope="module")
def walk(reused_app: ReusedApp, migrated_template: Path) -> Walk:
    """One walk for the module: the table below and each gate's own permission question
    (tests/web/test_permission_gates.py) are both checked against the same answers."""
    with reused_app.fresh(migrated_template) as app:
        user_ids = _users()
        actors = {role: actor_for(db.session.get(User, i)) for role, i in user_ids.items()}
        routes = all_routes(app)
        gated = []
        for route in routes:
            question = access.required_permission(app.view_functions[route.endpoint])
            if question is not None:
                gated.append((route, question))
        answers = {
            (route, role): _answer(app, route, role, user_ids)
            for route in routes
            for role in (ANONYMOUS, *ROLES)
        }
    return Walk(routes, answers, actors, gated)


def test_every_route_is_classified(walk: Walk) -> None:
    keys = {r.key for r in walk.routes}
    missing = sorted(keys - set(EXPECTED))
    assert missing == [], "new routes, add them to EXPECTED: " + ", ".join(missing)
    assert sorted(set(EXPECTED) - keys) == [], "gone routes: remove them from EXPECTED"


def test_every_role_reaches_exactly_the_routes_it_should(walk: Walk) -> None:
    wrong, errors = [], []
    for route in walk.routes:
        allowed = EXPECTED.get(route.key)
        if allowed is None:
            continue  # reported by test_every_route_is_classified
        for role in (ANONYMOUS, *ROLES):
            status, location = walk.answers[route, role]
            if status >= 500:
                errors.append(f"{route.key} as {role}: {status}")
            expected = "allow" if role in allowed else "deny"
            outcome = "deny" if _denied(status, location) else "allow"
            if outcome != expected:
                wrong.append(f"{route.key} as {role}: expected {expected}, got {status}")
    assert errors == []
    assert wrong == [], "\n".join(wrong)


# --- the gates ask the permission module -------------------------------------------------
# Every gated view names the permission question it asks (`access.permission_required`): its
# gate must answer as the question does, for each role (403 for a role the question refuses,
# through for one it accepts) and send an anonymous visitor to log in. The layout tests in
# tests/web/test_permission_gates.py keep role lists out of the views.


@pytest.mark.parametrize("role", ROLES)
def test_every_gated_route_answers_as_its_permission_question_when_role(
    walk: Walk, role: str
) -> None:
    assert len(walk.gated) > 50  # the staff, client and account pages
    actor = walk.actors[role]
    wrong = []
    for route, question in walk.gated:
        status, location = walk.answers[route, role]
        if question(actor):
            if status in (401, 403) or "/login?next=" in location or status >= 500:
                wrong.append(f"{route.key}: {question.__name__} lets {role} in, got {status}")
        elif status != 403:
            wrong.append(f"{route.key}: {question.__name__} refuses {role}, got {status}")
    assert wrong == [], "\n".join(wrong)


def test_every_gated_route_sends_an_anonymous_visitor_to_log_in(walk: Walk) -> None:
    wrong = []
    for route, _ in walk.gated:
        status, location = walk.answers[route, ANONYMOUS]
        if status != 302 or "/login?next=" not in location:
            wrong.append(f"{route.key}: {status} {location}")
    assert wrong == [], "\n".join(wrong)
