"""ideal interval days: the spacing a course template's planner aims for

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:10:00

A course may say how far apart its sessions ideally are (a facial massage every 4 days within
2 to 7); the planner aims for it instead of packing sessions at the minimum. Null (every
existing course) keeps the old behaviour. The check is on the column so that SQLite can add it
without rebuilding the courses table (which enrolments reference).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CHECK = (
    "ideal_interval_days IS NULL OR (ideal_interval_days >= min_interval_days"
    " AND (max_interval_days IS NULL OR ideal_interval_days <= max_interval_days))"
)


def upgrade():
    op.add_column(
        "courses",
        sa.Column(
            "ideal_interval_days",
            sa.Integer(),
            sa.CheckConstraint(CHECK, name=op.f("ck_courses_ideal_interval")),
            nullable=True,
        ),
    )


def downgrade():
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("ideal_interval_days")
