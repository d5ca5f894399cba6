"""holding index covers the calendar: the week page's read from the partial index alone

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 15:00:00

Issue 20: the reception week page reads the week's live appointments through
`ix_appointments_holding`, then looked each one up in the table for its end, client, enrolment
and session number: about 360 scattered table pages for a busy week, half of the statement's
time at 100,000 appointments. The index now ends with those four columns, so the page reads
the index alone; its order (start first) and so every plan's read are unchanged.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

HOLDING = "status IN ('booked','done','no_show')"
PLANS = ["start_at", "busy_until_at", "practitioner_id", "room_id", "device_id", "id", "status"]
CALENDAR = ["end_at", "client_id", "enrolment_id", "session"]


def _index(columns: list[str]) -> None:
    op.drop_index("ix_appointments_holding", table_name="appointments")
    op.create_index(
        "ix_appointments_holding",
        "appointments",
        columns,
        sqlite_where=sa.text(HOLDING),
        postgresql_where=sa.text(HOLDING),
    )


def upgrade():
    _index(PLANS + CALENDAR)


def downgrade():
    _index(PLANS)
