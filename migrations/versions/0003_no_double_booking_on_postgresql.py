"""no double booking on postgresql: btree_gist exclusion constraints on appointments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:30:00

On PostgreSQL the database refuses two live appointments that hold the same practitioner,
device, room (until the end of the buffer) or client (until the end of the session) at
overlapping times. The constraints are declared on the model (clinic/models/calendar.py,
EXCLUSIONS) with `ddl_if(dialect="postgresql")`; this revision writes the same DDL.
SQLite has no exclusion constraints and serializes write transactions instead
(BEGIN IMMEDIATE, clinic/dbsetup.py), so nothing happens there.

btree_gist is a trusted extension (PostgreSQL 13+): the database's owner may create it.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LIVE = "status <> 'cancelled'"
EXCLUSIONS = {
    "ex_appointments_practitioner_busy": ("practitioner_id", "busy_until_at", LIVE),
    "ex_appointments_device_busy": (
        "device_id",
        "busy_until_at",
        f"{LIVE} AND device_id IS NOT NULL",
    ),
    "ex_appointments_room_busy": ("room_id", "busy_until_at", LIVE),
    "ex_appointments_client_busy": ("client_id", "end_at", LIVE),
}


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if not _on_postgresql():
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, (who, until, where) in EXCLUSIONS.items():
        op.execute(
            f"ALTER TABLE appointments ADD CONSTRAINT {name} EXCLUDE USING gist "
            f"({who} WITH =, tstzrange(start_at, {until}) WITH &&) WHERE ({where}) "
            "DEFERRABLE INITIALLY DEFERRED"
        )


def downgrade():
    if not _on_postgresql():
        return
    for name in reversed(list(EXCLUSIONS)):
        op.execute(f"ALTER TABLE appointments DROP CONSTRAINT IF EXISTS {name}")
    # btree_gist stays: other objects may use it, and it is harmless.
