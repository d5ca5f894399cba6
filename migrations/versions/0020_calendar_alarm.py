"""calendar alarm: the client's own alarm hours, with their message choices

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 16:40:00

Issue 22, "Calendar files that update": a VALARM the evening before and one at a time the
client chooses. The reminders row of `message_choices` holds `alarm_hours` (1, 2, 3 or 24
hours before a session); NULL, and every existing row, means the evening alarm only.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("message_choices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alarm_hours", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "alarm_hours",
            "alarm_hours IS NULL OR (topic = 'reminders' AND alarm_hours IN (1,2,3,24))",
        )


def downgrade():
    with op.batch_alter_table("message_choices", schema=None) as batch_op:
        batch_op.drop_constraint("alarm_hours", type_="check")
        batch_op.drop_column("alarm_hours")
