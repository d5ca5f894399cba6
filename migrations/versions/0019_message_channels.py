"""message channels: text messages in the outbox and the client's choices

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 16:30:00

Issue 22, "The client's choices" and "Text messages": an outbox message goes out by email or
as a text message (`channel`, `to_phone` in E.164, `text`: its own short wording, if any); a
client's choice per topic of messages (`message_choices`: reminders, care, changes), email
and/or text. No row is the default: email only. Existing messages are emails.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=5), nullable=False, server_default="email")
        )
        batch_op.add_column(
            sa.Column("to_phone", sa.String(length=20), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch_op.create_check_constraint("channel", "channel IN ('email','text')")
    op.create_table(
        "message_choices",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=20), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "topic IN ('reminders','care','changes')", name=op.f("ck_message_choices_topic")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"],
            name=op.f("fk_message_choices_client_id_clients"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "topic", name=op.f("pk_message_choices")),
    )


def downgrade():
    op.drop_table("message_choices")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint("channel", type_="check")
        batch_op.drop_column("text")
        batch_op.drop_column("to_phone")
        batch_op.drop_column("channel")
