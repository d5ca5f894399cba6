"""phototypes: a client's Fitzpatrick skin type and the skin types a course may treat

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:20:00

Issue 21: the screening records the client's skin phototype (I-VI, null until asked) and a
course lists the phototypes it may treat (an ablative CO2 laser I to IV), as bits like its
months; every existing course treats all six. The checks are on the columns so that SQLite
can add them without rebuilding the tables that others reference.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "clients",
        sa.Column(
            "phototype",
            sa.Integer(),
            sa.CheckConstraint("phototype BETWEEN 1 AND 6", name=op.f("ck_clients_phototype")),
            nullable=True,
        ),
    )
    op.add_column(
        "courses",
        sa.Column(
            "phototypes_mask",
            sa.Integer(),
            sa.CheckConstraint(
                "phototypes_mask BETWEEN 1 AND 63", name=op.f("ck_courses_phototypes")
            ),
            nullable=False,
            server_default="63",
        ),
    )


def downgrade():
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("phototypes_mask")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("phototype")
