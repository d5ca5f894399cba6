"""calendar files that update: the clinic's address, session sequence, calendar feeds

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 16:30:00

Issue 22, "Calendar files that update": the clinic's postal address for LOCATION
(`clinic_settings.address`); a clinic-wide random key from which each session's calendar UID
is derived (`clinic_settings.calendar_key`, filled here for an existing clinic); the
iCalendar SEQUENCE of a session, raised by every change (`appointments.sequence`); and the
SHA-256 of a client's secret calendar feed token (`clients.calendar_feed_hash`, NULL: none).
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "clinic_settings",
        sa.Column("address", sa.Text(), nullable=False, server_default=""),
    )
    op.add_column(
        "clinic_settings",
        sa.Column("calendar_key", sa.String(length=64), nullable=False, server_default=""),
    )
    op.execute(
        sa.text("UPDATE clinic_settings SET calendar_key = :key").bindparams(
            key=secrets.token_hex(16)
        )
    )
    op.add_column(
        "appointments",
        sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "clients", sa.Column("calendar_feed_hash", sa.String(length=64), nullable=True)
    )
    op.create_index(
        op.f("ix_clients_calendar_feed_hash"), "clients", ["calendar_feed_hash"], unique=True
    )


def downgrade():
    op.drop_index(op.f("ix_clients_calendar_feed_hash"), table_name="clients")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("calendar_feed_hash")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("sequence")
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("calendar_key")
        batch.drop_column("address")
