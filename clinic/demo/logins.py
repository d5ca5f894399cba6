"""The demo's accounts and their demo-only passwords; staff accounts are made here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic.models import Practitioner, User
from clinic.services.catalogue import ImportReport

DEMO_DOMAIN = "demo.clinic"

PASSWORDS = {
    "admin": "demo-admin",
    "receptionist": "demo-reception",
    "practitioner": "demo-practitioner",
    "client": "demo-client",
}


@dataclass(frozen=True, slots=True)
class Login:
    role: str
    email: str
    password: str
    name: str
    note: str = ""


@dataclass(slots=True)
class DemoLogins:
    """The demo's accounts (with their demo-only passwords) and what the load did."""

    logins: list[Login] = field(default_factory=list)
    accounts_created: int = 0
    appointments_created: int = 0
    catalogue: ImportReport | None = None


class DemoAccounts:
    """Makes the demo's accounts, noting each login in `result`; an existing account is left
    as it is (password included)."""

    def __init__(self, s: Session, result: DemoLogins) -> None:
        self.s = s
        self.result = result
        # Hashing is slow on purpose; every account of a role shares its password.
        self._hash_of: dict[str, str] = {}

    def get_or_create(self, role: str, email: str, name: str, note: str = "") -> tuple[User, bool]:
        """The user with this email, and whether it was created now."""
        password = PASSWORDS[role]
        self.result.logins.append(Login(role, email, password, name, note))
        user = self.s.scalar(select(User).where(func.lower(User.email) == email))
        if user is not None:
            return user, False
        user = User(email=email, name=name, role=role)
        if password in self._hash_of:
            user.password_hash = self._hash_of[password]
        else:
            user.set_password(password)
            self._hash_of[password] = user.password_hash
        self.s.add(user)
        self.s.flush()
        self.result.accounts_created += 1
        return user, True


def add_staff(accounts: DemoAccounts, data: dict[str, Any]) -> None:
    """The admin, the front desk and an account for each practitioner of the catalogue."""
    accounts.get_or_create("admin", f"admin@{DEMO_DOMAIN}", "Clinic Manager")
    accounts.get_or_create("receptionist", f"reception@{DEMO_DOMAIN}", "Front Desk")
    for p in data["practitioners"]:
        user, _ = accounts.get_or_create("practitioner", p["email"], p["name"])
        practitioner = accounts.s.scalar(
            select(Practitioner).where(Practitioner.email == p["email"])
        )
        if practitioner is not None and practitioner.user_id is None:
            practitioner.user_id = user.id
