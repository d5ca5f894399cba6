"""catalogue version: one counter moved by the catalogue-writing services; no more triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:10:00

Migration 0004's triggers made every write to appointments, clients and the catalogue update
the one row of cache_versions, so on PostgreSQL every writing transaction queued on that row
until commit. Workers now keep only the catalogue in memory, under a version that the services
writing the catalogue move themselves (clinic/services/cache.py); bookings touch no shared row.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# As migration 0004 created them (repeated so that this revision never changes).
OLD_TRIGGERS = {
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
    for counter, tables in OLD_TRIGGERS.items():
        if _on_postgresql():
            for table in tables:
                op.execute(f"DROP TRIGGER IF EXISTS cache_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS cache_bump_{counter}()")
        else:
            for table in tables:
                for event in EVENTS:
                    op.execute(f"DROP TRIGGER IF EXISTS cache_{table}_{event}")
    op.drop_table("cache_versions")
    op.create_table(
        "catalogue_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalogue_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_version")),
    )
    op.execute("INSERT INTO catalogue_version (id, version) VALUES (1, 0)")


def downgrade():
    op.drop_table("catalogue_version")
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
