"""Requests that only read end with a commit, so psycopg keeps its prepared statements
(services/core/db.py, `commit_if_only_read`): PostgreSQL then plans a request's statements once
per connection, not on every request."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import literal_column, select, text

from clinic import create_app
from clinic.extensions import db
from clinic.services.world import day_memory

pytestmark = pytest.mark.pg


def test_read_only_requests_keep_their_prepared_statements(pg_url: str) -> None:
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=pg_url)
    client = app.test_client()
    try:
        for _ in range(8):  # psycopg prepares a statement at its fifth use on a connection
            assert client.get("/courses").status_code == 200
        with app.app_context():
            prepared = db.session.scalars(text("SELECT statement FROM pg_prepared_statements"))
            statements = list(prepared)
    finally:
        with app.app_context():
            db.engine.dispose()
    assert any("FROM courses" in s for s in statements), statements


def test_the_token_statement_log_check_uses_an_index_in_a_generic_plan(app) -> None:  # type: ignore[no-untyped-def]
    # A prepared statement runs on a generic plan after five uses (that plan does not know its
    # parameters): the log check must not scan the log then (it did: 8.6 ms a request at 100k).
    rows = ", ".join(f"(now() - interval '{i} seconds', now(), {1000 + i})" for i in range(3000))
    db.session.execute(
        text(f"INSERT INTO occupancy_changes (start_at, busy_until_at, xid) VALUES {rows}")
    )
    db.session.execute(text("ANALYZE occupancy_changes"))
    query = day_memory.with_log_check(select(literal_column("1")))
    query = query.params(log_after=0, log_horizon=0, log_applied=[1, 2, 3])
    compiled = query.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    names: list[str] = []

    def numbered(found: re.Match[str]) -> str:
        names.append(found.group(1))
        return f"${len(names)}"

    sql = re.sub(r"%\((\w+)\)s", numbered, str(compiled))
    plain = query.compile(dialect=db.engine.dialect).params  # the unexpanded parameters
    values = {k: v for k, v in plain.items() if not isinstance(v, list)}
    values.update(log_after=2**62, log_horizon=2000, log_applied_1=1, log_applied_2=2)
    values.update(log_applied_3=3)
    db.session.execute(text("SET plan_cache_mode = force_generic_plan"))
    db.session.execute(text(f"PREPARE log_check AS {sql}"))
    arguments = ", ".join(str(values[n]) for n in names)
    plan = "\n".join(db.session.scalars(text(f"EXPLAIN EXECUTE log_check({arguments})")))
    db.session.rollback()
    assert "Seq Scan on occupancy_changes" not in plan, plan
    assert "occupancy_changes" in plan, plan
