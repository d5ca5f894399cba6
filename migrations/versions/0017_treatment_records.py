"""treatment records, photos and photo consent

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 10:00:00

Issue 21, "The treatment record": a procedure may carry its record template
(`procedures.record_template`, NULL: the default for its device kind or qualification); a held
session's entries (`treatment_records`: drafts, signed entries and amendments naming the entry
they amend); before/after photos (`photos`) whose bytes live in the photo store, by default the
database (`stored_blobs`); a client's photo consent (`photo_consents`); and the clinic's policy
whether clients see their photos (`clinic_settings.photos_shown_to_clients`).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("procedures", sa.Column("record_template", sa.JSON(), nullable=True))
    op.add_column(
        "clinic_settings",
        sa.Column(
            "photos_shown_to_clients", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.create_table(
        "treatment_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("template", sa.JSON(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("areas", sa.Text(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("reaction", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("amends_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('draft','signed')", name=op.f("ck_treatment_records_status")),
        sa.CheckConstraint(
            "reaction IS NULL OR reaction BETWEEN 0 AND 3",
            name=op.f("ck_treatment_records_reaction"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"],
            name=op.f("fk_treatment_records_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_treatment_records_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["amends_id"], ["treatment_records.id"],
            name=op.f("fk_treatment_records_amends_id_treatment_records"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_treatment_records_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["users.id"], name=op.f("fk_treatment_records_signed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_records")),
    )
    op.create_index(
        op.f("ix_treatment_records_appointment_id"), "treatment_records", ["appointment_id"]
    )
    op.create_index(op.f("ix_treatment_records_client_id"), "treatment_records", ["client_id"])
    op.create_table(
        "photo_consents",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("may_take", sa.Boolean(), nullable=False),
        sa.Column("may_show_client", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], ondelete="CASCADE",
            name=op.f("fk_photo_consents_client_id_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_photo_consents_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_photo_consents")),
    )
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("screen_key", sa.String(length=80), nullable=False),
        sa.Column("thumb_key", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('before','after')", name=op.f("ck_photos_kind")),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"],
            name=op.f("fk_photos_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_photos_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_photos_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
    )
    op.create_index(op.f("ix_photos_appointment_id"), "photos", ["appointment_id"])
    op.create_index(op.f("ix_photos_client_id"), "photos", ["client_id"])
    op.create_table(
        "stored_blobs",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stored_blobs")),
    )


def downgrade():
    op.drop_table("stored_blobs")
    op.drop_index(op.f("ix_photos_client_id"), table_name="photos")
    op.drop_index(op.f("ix_photos_appointment_id"), table_name="photos")
    op.drop_table("photos")
    op.drop_table("photo_consents")
    op.drop_index(op.f("ix_treatment_records_client_id"), table_name="treatment_records")
    op.drop_index(op.f("ix_treatment_records_appointment_id"), table_name="treatment_records")
    op.drop_table("treatment_records")
    op.drop_column("clinic_settings", "photos_shown_to_clients")
    op.drop_column("procedures", "record_template")
