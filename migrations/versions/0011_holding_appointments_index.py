"""holding appointments index: the plans' read of occupancy from a partial covering index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:10:00

Issue 20: a plan reads, day by day, the appointments that hold a practitioner, room or device.
Through `ix_appointments_start_at` every cancelled row of those days was looked up in the table
too (59% of the rows at 100,000 appointments). This index holds only the holding rows, with
every column the read needs; the read names the statuses as literals so that SQLite can match
the index's WHERE.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

HOLDING = "status IN ('booked','done','no_show')"


def upgrade():
    op.create_index(
        "ix_appointments_holding",
        "appointments",
        ["start_at", "busy_until_at", "practitioner_id", "room_id", "device_id", "id", "status"],
        sqlite_where=sa.text(HOLDING),
        postgresql_where=sa.text(HOLDING),
    )


def downgrade():
    op.drop_index("ix_appointments_holding", table_name="appointments")
