"""The web gates ask the permission module (clinic/services/core/permissions.py).

Every gated view names the permission question it asks (`access.permission_required`); these
tests walk every route and check that the gate answers as its question does, for each role:
403 for a role the question refuses, through for one it accepts, and the login page for an
anonymous visitor. tests/test_access_matrix.py holds the expected table itself; the layout
test below keeps role lists out of the views, so the two cannot drift apart.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask, g

from clinic.auth import access
from clinic.models import ROLES
from clinic.services.core.actors import actor_for
from tests import factories as f
from tests.routes import Route, all_routes
from tests.web.conftest import ALL_ROLES, quick_user

ROOT = Path(__file__).resolve().parents[2]
PERMISSIONS = ROOT / "clinic" / "services" / "core" / "permissions.py"

# Comparisons of someone's role in modules another part of the work owns now; each is to ask
# permissions.py when its module is next edited. Keyed by file and the comparison's source.
NOT_YET_ROUTED: dict[str, set[str]] = {}


def _role_sets(tree: ast.AST) -> set[str]:
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id.endswith("_ROLES")
    }


def _role_questions(path: Path) -> list[str]:
    """Where the module asks about someone's role itself: a decorator given role names or a
    role set, or a comparison of a `.role` with `==`, `!=`, `in` or `not in`."""
    source = path.read_text()
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                literal_roles = any(
                    isinstance(c, ast.Constant) and c.value in ROLES for c in ast.walk(decorator)
                )
                if literal_roles or _role_sets(decorator):
                    found.append(f"@{ast.get_source_segment(source, decorator)} on {node.name}")
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            asks_role = any(isinstance(o, ast.Attribute) and o.attr == "role" for o in operands)
            by_value = all(
                isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops
            )
            if asks_role and by_value:
                found.append(ast.get_source_segment(source, node) or "")
    return found


def test_no_module_asks_about_a_role_outside_the_permission_module() -> None:
    found = []
    for path in sorted((ROOT / "clinic").rglob("*.py")):
        if path == PERMISSIONS:
            continue
        relative = path.relative_to(ROOT).as_posix()
        allowed = NOT_YET_ROUTED.get(relative, set())
        found += [f"{relative}: {q}" for q in _role_questions(path) if q not in allowed]
    assert found == [], "ask clinic/services/core/permissions.py instead:\n" + "\n".join(found)


def test_no_blueprint_names_a_role_set() -> None:
    """The role sets are the permission module's: a view or form that names one gates by a
    list of roles instead of by a question."""
    found = []
    for blueprint in ("auth", "staff", "booking", "api"):
        for path in sorted((ROOT / "clinic" / blueprint).rglob("*.py")):
            names = _role_sets(ast.parse(path.read_text())) - {"STAFF_ROLES"}
            found += [f"{path.relative_to(ROOT)}: {n}" for n in sorted(names)]
    assert found == []


def _gated(app: Flask) -> list[tuple[Route, Callable[[object], bool]]]:
    gated = []
    for route in all_routes(app):
        question = access.required_permission(app.view_functions[route.endpoint])
        if question is not None:
            gated.append((route, question))
    return gated


def test_every_staff_page_is_gated_by_a_permission_question(app: Flask) -> None:
    ungated = sorted(
        {
            r.endpoint
            for r in all_routes(app)
            if r.endpoint.startswith("staff.")
            and access.required_permission(app.view_functions[r.endpoint]) is None
        }
    )
    assert ungated == []


def _answer(app: Flask, route: Route, user_id: int | None) -> tuple[int, str]:
    # The requests share the test's app context and its `g`, where Flask-Login keeps the
    # user it loaded: forget the previous request's.
    g.pop("_login_user", None)
    web = app.test_client()
    if user_id is not None:
        with web.session_transaction() as session:
            f.log_in(session, user_id)
    response = web.open(route.url, method=route.method)
    return response.status_code, response.headers.get("Location", "")


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_gated_route_answers_as_its_permission_question_when_role(
    app: Flask, role: str
) -> None:
    f.make_clinic()
    user = quick_user(role)
    if role == "practitioner":
        f.make_practitioner(email=user.email, name=user.name).user_id = user.id
        f.commit()
    actor = actor_for(user)
    gated = _gated(app)
    assert len(gated) > 50  # the staff, client and account pages
    wrong = []
    for route, question in gated:
        status, location = _answer(app, route, user.id)
        if question(actor):
            if status in (401, 403) or "/login?next=" in location or status >= 500:
                wrong.append(f"{route.key}: {question.__name__} lets {role} in, got {status}")
        elif status != 403:
            wrong.append(f"{route.key}: {question.__name__} refuses {role}, got {status}")
    assert wrong == [], "\n".join(wrong)


def test_every_gated_route_sends_an_anonymous_visitor_to_log_in(app: Flask) -> None:
    wrong = []
    for route, _ in _gated(app):
        status, location = _answer(app, route, None)
        if status != 302 or "/login?next=" not in location:
            wrong.append(f"{route.key}: {status} {location}")
    assert wrong == [], "\n".join(wrong)
