"""The API against its own OpenAPI document (schemathesis, in-process), and a booking race."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from contextlib import closing

import schemathesis
from hypothesis import HealthCheck, given, settings

from clinic.extensions import db
from clinic.models import Appointment
from tests import factories as f
from tests.api.conftest import at, token_for
from tests.clock import next_monday

CHECKS = (
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
)


def test_openapi_document_lists_every_contract_endpoint(client) -> None:
    doc = client.get("/api/v1/openapi.json").json
    wanted = {
        ("get", "/api/v1/courses"),
        ("get", "/api/v1/practitioners"),
        ("get", "/api/v1/availability"),
        ("post", "/api/v1/clients"),
        ("put", "/api/v1/clients/{client_id}/screening"),
        ("post", "/api/v1/clients/{client_id}/periods"),
        ("post", "/api/v1/plans"),
        ("post", "/api/v1/enrolments"),
        ("get", "/api/v1/appointments"),
        ("patch", "/api/v1/appointments/{appointment_id}"),
        ("delete", "/api/v1/appointments/{appointment_id}"),
        ("get", "/api/v1/appointments/{appointment_id}.ics"),
        ("post", "/api/v1/appointments/{appointment_id}/outcome"),
        ("get", "/api/v1/calendar.ics"),
        ("post", "/api/v1/token"),
        ("get", "/api/v1/openapi.json"),
        ("get", "/api/v1/enrolments/{enrolment_id}"),
        ("post", "/api/v1/enrolments/{enrolment_id}/plan"),
        ("post", "/api/v1/enrolments/{enrolment_id}/sessions"),
    }
    present = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert wanted - present == set()


def test_api_never_answers_500_and_matches_its_document(app, clinic) -> None:
    http = app.test_client()
    token = token_for(http, "desk@clinic.example")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in ("/api/v1/token",):
            continue  # rate-limited login; covered by its own tests

        @settings(
            max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            case.validate_response(response, checks=CHECKS)

        run()
        checked += 1
    assert checked >= 14


def test_api_followed_through_its_links_never_answers_500(app, clinic) -> None:
    # Stateful: schemathesis chains calls along the document's OpenAPI links (a new client's id
    # into its screening and periods, a new enrolment's into itself and its sessions).
    # Each scenario starts from the same database (SQLite's backup API), so that Hypothesis
    # sees the same answers when it replays one.
    token = token_for(app.test_client(), "desk@clinic.example")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    seen: Counter[tuple[str, str, int]] = Counter()
    path = db.engine.url.database
    assert path
    db.session.remove()
    db.engine.dispose()
    start = sqlite3.connect(":memory:")
    with closing(sqlite3.connect(path)) as live:
        live.backup(start)

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def teardown(self) -> None:
            db.session.remove()
            db.engine.dispose()
            with closing(sqlite3.connect(path)) as live:
                start.backup(live)

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def after_call(self, response, case) -> None:
            seen[(case.method, case.path, response.status_code)] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            case.validate_response(response, checks=CHECKS)

    try:
        Machine.run(
            settings=settings(
                max_examples=60,
                stateful_step_count=6,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                # The same scenarios each run: a random draw missed the links one run in eight
                # (no client's screening or periods reached) and failed the check below.
                derandomize=True,
            )
        )
    finally:
        start.close()
    # Links were followed: a client the run created, then its screening or periods.
    assert seen[("POST", "/api/v1/clients", 201)], seen
    assert any(
        called.startswith("/api/v1/clients/{client_id}/") and status in (200, 201, 422)
        for _, called, status in seen
    ), seen


def test_twenty_clients_racing_for_the_last_slot_get_one_201_and_409s(app, clinic) -> None:
    day = next_monday()
    clients = [f.make_client(email=f"racer{i}@example.com") for i in range(20)]
    tokens = [token_for(app.test_client(), c.email) for c in clients]
    practitioner_id = clinic["practitioner"].id
    db.session.remove()  # the test's own session must not hold SQLite's write lock
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = []
    lock = threading.Lock()

    def take(token: str) -> None:
        http = app.test_client()
        barrier.wait()
        response = http.post(
            "/api/v1/enrolments",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "course": "peel_course",
                "sessions": [{"start": at(day, 10), "practitioner": practitioner_id}],
            },
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=take, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [201] + [409] * 19
    db.session.expire_all()
    assert db.session.query(Appointment).filter(Appointment.status == "booked").count() == 1
