"""patch tests: a procedure's patch test, and a reaction to one

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:40:00

Issue 21: a procedure may need a patch test (a session of another procedure) at least some
hours and at most some days before a course's first session; the columns name the test's
procedure by its code and the window. A held patch test the skin reacted to keeps the
practitioner's note on its appointment, which rules the course out (`contraindicated`).
Column checks, so that SQLite adds them without rebuilding tables that others reference.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("procedures", sa.Column("patch_test_procedure", sa.String(60), nullable=True))
    op.add_column(
        "procedures",
        sa.Column(
            "patch_test_min_hours",
            sa.Integer(),
            sa.CheckConstraint(
                "patch_test_min_hours BETWEEN 1 AND 720", name=op.f("ck_procedures_patch_test_min")
            ),
            nullable=True,
        ),
    )
    op.add_column(
        "procedures",
        sa.Column(
            "patch_test_max_days",
            sa.Integer(),
            sa.CheckConstraint(
                "patch_test_max_days BETWEEN 1 AND 365", name=op.f("ck_procedures_patch_test_max")
            ),
            nullable=True,
        ),
    )
    op.add_column("appointments", sa.Column("reaction_note", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("reaction_note")
    with op.batch_alter_table("procedures") as batch:
        batch.drop_column("patch_test_max_days")
        batch.drop_column("patch_test_min_hours")
        batch.drop_column("patch_test_procedure")
