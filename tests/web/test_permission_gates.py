"""The web gates ask the permission module (clinic/services/core/permissions.py).

Every gated view names the permission question it asks (`access.permission_required`), and
every staff page has one. That each gate answers as its question does, for each role (403 for
a role the question refuses, through for one it accepts, the login page for an anonymous
visitor), is checked in tests/test_access_matrix.py on the answers of its walk of every route,
next to the expected table itself; the layout tests below keep role lists out of the views, so
the two cannot drift apart.
"""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask

from clinic.auth import access
from clinic.models import ROLES
from tests.routes import all_routes

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
