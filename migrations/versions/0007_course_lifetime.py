"""course lifetime: rules as booked, attention flags, the no-show policy

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 17:40:00

DOMAIN.md "A course over its lifetime". An enrolment keeps the course rules it was booked
under (`enrolments.rules`);
booked sessions that a change of the world breaks are flagged (`attention_flags`) for
reception's attention list; the clinic decides whether a no-show uses up its session
(`clinic_settings.no_show_uses_session`, default: the course gets a make-up session).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("enrolments", sa.Column("rules", sa.JSON(), nullable=True))
    op.add_column(
        "clinic_settings",
        sa.Column(
            "no_show_uses_session", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.create_table(
        "attention_flags",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_attention_flags_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_attention_flags")),
    )


def downgrade():
    op.drop_table("attention_flags")
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("no_show_uses_session")
    with op.batch_alter_table("enrolments") as batch:
        batch.drop_column("rules")
