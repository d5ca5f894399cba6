"""cache versions: counters moved on by triggers, for the workers' in-memory catalogue and calendar

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:20:00

One row in cache_versions; a trigger on each table of VERSIONED_TABLES (clinic/models/versions.py,
repeated here so that this revision does not change when the model does) adds one to its
counter in the transaction that writes. On PostgreSQL the UPDATE holds the row's lock until
commit, so the counter's values commit in the order they were taken; on SQLite writers are
serialized anyway (BEGIN IMMEDIATE).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

VERSIONED_TABLES = {
    "catalogue": (
        "clinic_settings",
        "opening_hours",
        "holidays",
        "rooms",
        "devices",
        "restrictions",
        "procedures",
        "procedure_blocked_by",
        "courses",
        "course_restrictions",
        "course_contraindications",
        "practitioners",
        "practitioner_qualifications",
        "working_hours",
        "time_off",
    ),
    "occupancy": ("appointments",),
    "clients": ("clients", "client_conditions", "client_periods"),
}
EVENTS = ("insert", "update", "delete")


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    op.create_table(
        "cache_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("catalogue", sa.BigInteger(), nullable=False),
        sa.Column("occupancy", sa.BigInteger(), nullable=False),
        sa.Column("clients", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_cache_versions_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_versions")),
    )
    op.execute(
        "INSERT INTO cache_versions (id, catalogue, occupancy, clients) VALUES (1, 0, 0, 0)"
    )
    for counter, tables in VERSIONED_TABLES.items():
        bump = f"UPDATE cache_versions SET {counter} = {counter} + 1 WHERE id = 1"
        if _on_postgresql():
            op.execute(
                f"CREATE FUNCTION cache_bump_{counter}() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN {bump}; RETURN NULL; END $$"
            )
            for table in tables:
                op.execute(
                    f"CREATE TRIGGER cache_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                    f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION cache_bump_{counter}()"
                )
        else:
            for table in tables:
                for event in EVENTS:
                    op.execute(
                        f"CREATE TRIGGER cache_{table}_{event} AFTER {event.upper()} ON {table} "
                        f"BEGIN {bump}; END"
                    )


def downgrade():
    for counter, tables in VERSIONED_TABLES.items():
        if _on_postgresql():
            for table in tables:
                op.execute(f"DROP TRIGGER IF EXISTS cache_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS cache_bump_{counter}()")
        else:
            for table in tables:
                for event in EVENTS:
                    op.execute(f"DROP TRIGGER IF EXISTS cache_{table}_{event}")
    op.drop_table("cache_versions")
