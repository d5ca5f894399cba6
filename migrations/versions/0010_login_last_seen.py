"""login last seen: logins end when idle for too long

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00

Issue 19, defect 12: logins had no maximum age; a row begun 400 days ago still opened pages.
A login now ends after LOGIN_IDLE_MINUTES without use and LOGIN_MAX_DAYS after it began
(config.py). `last_seen_at` is when it was last used, noted at most every few minutes; the
logins already there count as last seen when they began.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "login_sessions", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE login_sessions SET last_seen_at = created_at")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.alter_column(
            "last_seen_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade():
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
