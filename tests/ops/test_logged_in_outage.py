"""With the database away, a logged-in user's page answers 503 with `Retry-After` and the
sentence, like the API and anonymous pages, never a bare 500: the error pages never touch
the database (issue 19, defect 7).

"Away" is real: the SQLite file's directory is moved aside, so SQLite cannot open it
("unable to open database file"), as a lost volume would; moved back, the pages answer again.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from clinic import create_app
from clinic.errors import UNAVAILABLE
from clinic.extensions import db
from tests import factories as f
from tests.clock import local, next_monday


@dataclass
class Outage:
    app: Flask
    folder: Path
    staff: FlaskClient
    client: FlaskClient
    enrolment_id: int
    appointment_id: int

    def _release(self) -> None:
        db.session.remove()
        db.engine.dispose()  # no pooled connection keeps the file open

    def take_away(self) -> None:
        self._release()
        self.folder.rename(self.folder.with_name("away"))

    def bring_back(self) -> None:
        self._release()
        self.folder.with_name("away").rename(self.folder)


@pytest.fixture
def outage(migrated_template: Path, tmp_path: Path) -> Iterator[Outage]:
    """A clinic with a booked course, reception and its client each logged in on a browser."""
    folder = tmp_path / "volume"
    folder.mkdir()
    shutil.copy(migrated_template, folder / "clinic.db")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'clinic.db'}")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a failing error page answers as in production
    with app.app_context():
        booked = f.make_booked_course(local(next_monday(), 10))
        client, enrolment = booked.client, booked.enrolment
        desk = f.make_user("receptionist")
        staff_browser, client_browser = app.test_client(), app.test_client()
        with staff_browser.session_transaction() as session:
            f.log_in(session, desk.id)
        with client_browser.session_transaction() as session:
            f.log_in(session, client.user_id)
        outage = Outage(
            app,
            folder,
            staff_browser,
            client_browser,
            enrolment.id,
            enrolment.appointments[0].id,
        )
        try:
            yield outage
        finally:
            db.session.remove()
            db.engine.dispose()


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "text/html"
    assert UNAVAILABLE.replace("'", "&#39;") in response.get_data(as_text=True)


STAFF_PAGES = [
    ("GET", "/staff/", {}),
    ("GET", "/staff/attention", {}),
    ("GET", "/staff/enrolments/{enrolment}/rules", {}),
    ("GET", "/staff/appointments/{appointment}", {}),
    ("POST", "/staff/enrolments/{enrolment}/replan", {"move": "{appointment}|x|1"}),
    ("POST", "/staff/appointments/{appointment}/outcome", {"status": "done", "seen": "booked"}),
]
CLIENT_PAGES = [
    ("GET", "/my/sessions", {}),
    ("GET", "/my/courses/{enrolment}/plan", {}),
    ("GET", "/courses", {}),
]


def _ask(browser: FlaskClient, outage: Outage, method: str, path: str, data: dict[str, str]):
    g.pop("_login_user", None)  # Flask-Login's cache lives in the test's app context
    ids = {"enrolment": outage.enrolment_id, "appointment": outage.appointment_id}
    url = path.format(**ids)
    form = {k: v.format(**ids) for k, v in data.items()}
    return browser.open(url, method=method, data=form or None)


@pytest.mark.parametrize(("method", "path", "data"), STAFF_PAGES)
def test_a_staff_page_answers_503_when_the_database_is_away(outage, method, path, data) -> None:
    outage.take_away()
    assert_unavailable(_ask(outage.staff, outage, method, path, data))


@pytest.mark.parametrize(("method", "path", "data"), CLIENT_PAGES)
def test_a_client_page_answers_503_when_the_database_is_away(outage, method, path, data) -> None:
    outage.take_away()
    assert_unavailable(_ask(outage.client, outage, method, path, data))


def test_logged_in_pages_answer_again_once_the_database_is_back(outage) -> None:
    staff_page, client_page = STAFF_PAGES[1], CLIENT_PAGES[0]
    outage.take_away()
    assert_unavailable(_ask(outage.staff, outage, *staff_page))
    assert_unavailable(_ask(outage.client, outage, *client_page))
    outage.bring_back()
    assert _ask(outage.staff, outage, *staff_page).status_code == 200
    assert _ask(outage.client, outage, *client_page).status_code == 200
