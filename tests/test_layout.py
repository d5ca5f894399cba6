"""The engine stays pure, and the schema built by the migrations matches the models."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clinic.extensions import db

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("flask", "sqlalchemy", "werkzeug", "clinic.models", "clinic.services", "wtforms")


def test_scheduling_imports_only_the_standard_library_and_itself() -> None:
    offenders = []
    for path in (ROOT / "clinic" / "scheduling").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert offenders == []


def test_migrations_at_head_match_the_models(app) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


# The feature packages of clinic/services, in the order they may import each other: a package
# imports only those before it (STYLE.md, "Layout"). people and catalogue share a level.
SERVICE_ORDER = (
    ("core",),
    ("world",),
    ("messages",),
    ("courses",),
    ("lifetime",),
    ("clinical",),
    ("people", "catalogue"),
    ("staffing",),
)


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at the top or inside a function, resolved to dotted names."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _clinic_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in (ROOT / "clinic").rglob("*.py")}


def _level(package: str) -> int:
    return next(i for i, names in enumerate(SERVICE_ORDER) if package in names)


def test_every_service_module_lives_in_a_feature_package() -> None:
    services = ROOT / "clinic" / "services"
    loose = [p.name for p in services.glob("*.py") if p.name != "__init__.py"]
    unknown = [
        d.name
        for d in services.iterdir()
        if d.is_dir() and d.name != "__pycache__" and not any(d.name in s for s in SERVICE_ORDER)
    ]
    assert loose == [] and unknown == []


def test_service_packages_import_only_those_before_them() -> None:
    offenders = []
    for name, path in _clinic_modules().items():
        if not name.startswith("clinic.services."):
            continue
        own = name.split(".")[2]
        for target in _imports(path):
            if not target.startswith("clinic.services."):
                if target.startswith(
                    ("clinic.api", "clinic.auth", "clinic.booking", "clinic.staff")
                ):
                    offenders.append(f"{name} -> {target} (a blueprint)")
                continue
            other = target.split(".")[2]
            if other != own and _level(other) >= _level(own):
                offenders.append(f"{name} -> {target}")
    assert offenders == []


def test_no_import_circle_in_clinic() -> None:
    modules = _clinic_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for target in _imports(path):
            # `from a.b import c` names module a.b.c when c is a module, else a.b.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            # A package's own __init__ re-exporting its modules is not a circle.
            if target and target != name and not name.startswith(target + "."):
                deps.add(target)
        graph[name] = deps

    circles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                circles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert circles == []
