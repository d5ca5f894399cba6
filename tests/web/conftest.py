"""Web fixtures: log in as any role without going through the login form."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from clinic.extensions import db
from clinic.models import Client, Course, Enrolment, Practitioner, User
from clinic.services.core.actors import Actor, actor_for
from tests import factories as f

STAFF_ROLES = ("admin", "receptionist", "practitioner")
ALL_ROLES = (*STAFF_ROLES, "client")


def quick_user(role: str, **overrides: Any) -> User:
    """Like `factories.make_user`, without hashing a password (scrypt costs ~0.1 s a user):
    these users are logged in through the session, never through the login form."""
    n = db.session.query(User).count() + 1
    values: dict[str, Any] = dict(
        email=f"{role}{n}@example.com", name=f"{role.capitalize()} {n}", role=role
    )
    values.update(overrides)
    user = User(password_hash="!unusable", **values)
    db.session.add(user)
    db.session.flush()
    if role == "client":
        db.session.add(Client(user_id=user.id, name=user.name, email=user.email))
    f.commit()
    return user


@pytest.fixture
def login_as(client: FlaskClient) -> Callable[..., User]:
    """`login_as("receptionist")` makes a user of that role and logs the test client in.

    A practitioner gets a practitioner record linked to the account (pass `practitioner=`
    to link an existing one)."""

    def login(role: str, **overrides: Any) -> User:
        practitioner = overrides.pop("practitioner", None)
        user = quick_user(role, **overrides)
        if role == "practitioner":
            practitioner = practitioner or f.make_practitioner(email=user.email, name=user.name)
            practitioner.user_id = user.id
            f.commit()
        with client.session_transaction() as sess:
            f.log_in(sess, user.id)
        # The requests share the test's app context, and with it `g`, where Flask-Login keeps
        # the user it loaded: a second login in one test must not see the first user.
        g.pop("_login_user", None)
        return user

    return login


@dataclass
class Clinic:
    practitioner: Practitioner
    course: Course
    client: Client
    desk: Actor

    def book(self, *starts: datetime, client: Client | None = None, **kw: Any) -> Enrolment:
        """Book sessions through the service (as reception), at the practitioner's."""
        return f.book(
            *starts,
            client=client or self.client,
            practitioner=self.practitioner,
            by=self.desk,
            course_code=self.course.code,
            **kw,
        )


@pytest.fixture
def clinic(app: Flask) -> Clinic:
    """Settings, one practitioner (Mon-Fri 9-17), the 6-session peel course, one client."""
    f.make_clinic()
    practitioner = f.make_practitioner(name="Dana Derm")
    course = f.make_course()
    client = quick_user("client", name="Anna Client").client
    return Clinic(practitioner, course, client, actor_for(quick_user("receptionist")))


@pytest.fixture
def csrf_on(app: Flask) -> Iterator[None]:
    """CSRF checks as in production, for the tests that prove forms refuse a missing token."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False
