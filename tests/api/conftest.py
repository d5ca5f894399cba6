"""API fixtures: a small clinic, users of every role, and a bearer-token client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import User
from tests import factories as f
from tests.clock import local


def at(day: date, hour: int, minute: int = 0) -> str:
    """A Berlin wall-clock time as the API takes it (ISO 8601 with its offset)."""
    return local(day, hour, minute).isoformat()


@dataclass
class Api:
    http: FlaskClient
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kw):
        return self.http.get(f"/api/v1{path}", headers=self.headers(), **kw)

    def post(self, path: str, json=None, **kw):
        return self.http.post(f"/api/v1{path}", headers=self.headers(), json=json, **kw)

    def put(self, path: str, json=None, **kw):
        return self.http.put(f"/api/v1{path}", headers=self.headers(), json=json, **kw)

    def patch(self, path: str, json=None, **kw):
        return self.http.patch(f"/api/v1{path}", headers=self.headers(), json=json, **kw)

    def delete(self, path: str, **kw):
        return self.http.delete(f"/api/v1{path}", headers=self.headers(), **kw)


def token_for(http: FlaskClient, email: str, password: str = "password123") -> str:
    response = http.post("/api/v1/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    return response.json["token"]


@pytest.fixture
def clinic(app):
    """A clinic with one peel practitioner, a 6-session peel course and one user per role."""
    f.make_clinic()
    practitioner_user = f.make_user("practitioner", email="anna@clinic.example")
    practitioner = f.make_practitioner(
        email="anna@clinic.example", name="Anna", user_id=practitioner_user.id
    )
    f.make_course()
    return {
        "practitioner": practitioner,
        "client": f.make_client(email="carla@example.com"),
        "other": f.make_client(email="olga@example.com"),
        "desk": f.make_user("receptionist", email="desk@clinic.example"),
        "admin": f.make_user("admin", email="admin@clinic.example"),
        "practitioner_user": practitioner_user,
    }


@pytest.fixture
def api_as(client, clinic):
    """`api_as("receptionist")` → an Api acting with a token of that role's user (written
    directly, `factories.make_token`; `token_for` logs in through the endpoint)."""
    emails = {
        "receptionist": "desk@clinic.example",
        "admin": "admin@clinic.example",
        "practitioner": "anna@clinic.example",
        "client": "carla@example.com",
        "other": "olga@example.com",
    }

    def make(role: str) -> Api:
        user = db.session.scalars(select(User).filter_by(email=emails[role])).one()
        return Api(client, f.make_token(user.id))

    return make
