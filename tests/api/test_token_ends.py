"""API tokens end with the password: a reset or a change revokes every token issued before."""

from __future__ import annotations

import pytest
from flask import Flask

from clinic.services.people import passwords
from tests import factories as f
from tests.api.conftest import token_for

PASSWORD = "password123"


def _courses(app: Flask, token: str):
    return app.test_client().get("/api/v1/courses", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("how", ["reset", "change"])
def test_a_token_issued_before_a_password_reset_or_change_is_refused(app: Flask, how: str) -> None:
    user = f.make_user("receptionist", password=PASSWORD)
    token = token_for(app.test_client(), user.email, PASSWORD)
    assert _courses(app, token).status_code == 200
    if how == "reset":
        link = passwords.reset_token(user, app.config["SECRET_KEY"])
        passwords.reset_password(
            token=link, password="a-new-password", secret=app.config["SECRET_KEY"]
        )
    else:
        passwords.change_password(
            user_id=user.id, current=PASSWORD, password="a-new-password", keep_login=None
        )
    refused = _courses(app, token)
    assert refused.status_code == 401
    assert refused.json["errors"][0]["code"] == "unauthorized"
    fresh = token_for(app.test_client(), user.email, "a-new-password")
    assert _courses(app, fresh).status_code == 200
