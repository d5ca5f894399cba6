"""consent forms: the forms of the catalogue, every version of their text, clients' signatures

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 15:05:19

Issue 21 ("Consent"): a procedure may need a signed consent form. A form's text is kept as
versions (number, text, its SHA-256), never edited in place, so that a signature always shows
the very text it signed. A signature is online (the client) or paper (recorded at the desk)
and covers the local dates signed_on..valid_until, both included.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consent_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "valid_days BETWEEN 1 AND 3650", name=op.f("ck_consent_forms_valid_days")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_forms")),
        sa.UniqueConstraint("code", name=op.f("uq_consent_forms_code")),
    )
    op.create_table(
        "consent_form_procedures",
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["consent_forms.id"],
            name=op.f("fk_consent_form_procedures_form_id_consent_forms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["procedures.id"],
            name=op.f("fk_consent_form_procedures_procedure_id_procedures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("form_id", "procedure_id", name=op.f("pk_consent_form_procedures")),
    )
    op.create_table(
        "consent_form_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("number >= 1", name=op.f("ck_consent_form_versions_number")),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["consent_forms.id"],
            name=op.f("fk_consent_form_versions_form_id_consent_forms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_form_versions")),
        sa.UniqueConstraint("form_id", "number", name="uq_consent_form_versions_number"),
    )
    op.create_table(
        "client_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_name", sa.String(length=120), nullable=False),
        sa.Column("how", sa.String(length=10), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("how IN ('online','paper')", name=op.f("ck_client_consents_how")),
        sa.CheckConstraint("valid_until >= signed_on", name=op.f("ck_client_consents_valid_until")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_consents_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["form_id"], ["consent_forms.id"], name=op.f("fk_client_consents_form_id_consent_forms")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_client_consents_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["consent_form_versions.id"],
            name=op.f("fk_client_consents_version_id_consent_form_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_consents")),
    )
    with op.batch_alter_table("client_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_consents_client_id"), ["client_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("client_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_consents_client_id"))

    op.drop_table("client_consents")
    op.drop_table("consent_form_versions")
    op.drop_table("consent_form_procedures")
    op.drop_table("consent_forms")
