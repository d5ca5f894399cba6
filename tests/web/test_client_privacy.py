"""A client downloads everything the clinic holds and can erase it (issue 7's privacy)."""

from __future__ import annotations

import json

import pytest

from clinic.extensions import db
from clinic.models import Client, User
from tests import factories as f


@pytest.fixture
def me(app, client):
    person = f.make_client(email="erika@example.com", name="Erika", password="password123")
    client.post("/login", data={"email": "erika@example.com", "password": "password123"})
    return person


def test_client_downloads_its_data_as_json(client, me) -> None:
    response = client.get("/profile/data.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["client"]["name"] == "Erika"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"password": "password123"}, "Tick the box to confirm."),
        ({"confirm": "y", "password": "wrong-one"}, "The password is not right."),
    ],
)
def test_erasure_needs_the_box_and_the_password(client, me, form, message) -> None:
    response = client.post("/profile/erase", data=form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Client, me.id).anonymised_at is None


def test_erasure_anonymises_the_client_and_ends_the_login(client, me) -> None:
    response = client.post("/profile/erase", data={"confirm": "y", "password": "password123"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    db.session.expire_all()
    erased = db.session.get(Client, me.id)
    assert erased.anonymised_at is not None and erased.name != "Erika"
    login = client.post("/login", data={"email": "erika@example.com", "password": "password123"})
    assert login.status_code == 422
    assert db.session.query(User).filter_by(email="erika@example.com").count() == 0


@pytest.mark.parametrize("role", ["admin", "receptionist", "practitioner"])
def test_only_clients_reach_their_own_data_pages(login_as, client, role) -> None:
    login_as(role)
    assert client.get("/profile/data.json").status_code == 403
    assert client.get("/profile/erase").status_code == 403
