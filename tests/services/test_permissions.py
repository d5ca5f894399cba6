"""Who may do what: the permission predicates as tables (clinic/services/permissions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from clinic.services.core import permissions as p
from clinic.services.core.actors import Actor
from clinic.services.core.errors import Conflict, PermissionDenied, RuleViolation
from tests import factories as f

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
ROLES = ("admin", "receptionist", "practitioner", "client")


def actor(role: str) -> Actor:
    return Actor(
        user_id=1,
        role=role,
        client_id=10 if role == "client" else None,
        practitioner_id=20 if role == "practitioner" else None,
    )


def appointment(
    *, client_id: int = 10, practitioner_id: int = 20, status: str = "booked", hours: int = 48
) -> SimpleNamespace:
    return SimpleNamespace(
        session=1,
        client_id=client_id,
        practitioner_id=practitioner_id,
        status=status,
        start_at=NOW + timedelta(hours=hours),
    )


@pytest.mark.parametrize(
    ("predicate", "allowed"),
    [
        (p.is_admin, {"admin"}),
        (p.is_desk, {"admin", "receptionist"}),
        (p.is_staff, {"admin", "receptionist", "practitioner"}),
        (p.is_practitioner, {"practitioner"}),
        (p.is_client, {"client"}),
        (p.can_edit_catalogue, {"admin", "practitioner"}),
    ],
)
def test_role_predicates(predicate, allowed) -> None:
    assert {role for role in ROLES if predicate(actor(role))} == allowed
    assert not predicate(SimpleNamespace())  # an anonymous visitor has no role


@pytest.mark.parametrize(
    ("role", "client_id", "allowed"),
    [
        ("admin", 99, True),
        ("receptionist", 99, True),
        ("receptionist", None, True),
        ("practitioner", 10, False),
        ("practitioner", None, False),
        ("client", None, True),
        ("client", 10, True),
        ("client", 99, False),
    ],
)
def test_can_book_for(role: str, client_id: int | None, allowed: bool) -> None:
    assert p.can_book_for(actor(role), client_id) is allowed


@pytest.mark.parametrize(
    ("role", "client_id", "practitioner_id", "allowed"),
    [
        ("receptionist", 99, 98, True),
        ("admin", 99, 98, True),
        ("practitioner", 99, 20, True),
        ("practitioner", 10, 98, False),
        ("client", 10, 98, True),
        ("client", 99, 20, False),
    ],
)
def test_can_see_appointment(
    role: str, client_id: int, practitioner_id: int, allowed: bool
) -> None:
    seen = appointment(client_id=client_id, practitioner_id=practitioner_id)
    assert p.can_see_appointment(actor(role), seen) is allowed  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "status", "hours", "refused"),
    [
        ("client", "booked", 48, None),
        ("client", "booked", 24, None),  # exactly the notice
        ("client", "booked", 23, RuleViolation),
        ("client", "booked", -1, RuleViolation),  # begun already
        ("receptionist", "booked", 1, None),  # staff change any time
        ("admin", "booked", -1, None),
        ("practitioner", "booked", 48, PermissionDenied),
        ("client", "cancelled", 48, Conflict),
        ("receptionist", "done", -1, Conflict),
        ("receptionist", "no_show", -1, Conflict),
    ],
)
def test_change_refusal(app, role: str, status: str, hours: int, refused: type | None) -> None:
    f.make_clinic(client_change_notice_hours=24)
    session = appointment(status=status, hours=hours)
    refusal = p.change_refusal(actor(role), session, NOW)  # type: ignore[arg-type]
    if refused is None:
        assert refusal is None
        assert p.can_change(actor(role), session, NOW)  # type: ignore[arg-type]
    else:
        assert type(refusal) is refused
        assert not p.can_change(actor(role), session, NOW)  # type: ignore[arg-type]
    if refused is RuleViolation:
        assert [v.code for v in refusal.violations] == ["too_late_to_change"]  # type: ignore[union-attr]


def test_change_refusal_without_now_leaves_the_notice_to_the_engine(app) -> None:
    f.make_clinic(client_change_notice_hours=24)
    assert p.change_refusal(actor("client"), appointment(hours=1), None) is None  # type: ignore[arg-type]
