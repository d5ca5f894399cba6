"""rules as booked: fill enrolments.rules for the enrolments booked before it, then NOT NULL

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:00:00

DOMAIN.md "A course over its lifetime": an enrolment keeps the course rules it was booked
under. Enrolments written before this revision have none; they get their course's rules as
they are now (the best there is: what they were booked under was never recorded), so that no
NULL is left to mean "the template's, whatever it says today". The shape is the one
`clinic.services.world.aftercare.rules_record` writes (a migration must not import the app, so it
is built here with plain SQL); the procedure is not kept, it stays the catalogue's live one.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _course_records(conn):
    courses = conn.execute(
        sa.text(
            "SELECT id, code, name, sessions, min_interval_days, max_interval_days,"
            " ideal_interval_days, months_mask FROM courses"
        )
    ).all()
    care = {}
    for course_id, code, text, kind, hours, phase in conn.execute(
        sa.text(
            "SELECT cr.course_id, r.code, r.text, r.kind, cr.hours, cr.phase"
            " FROM course_restrictions cr JOIN restrictions r ON r.id = cr.restriction_id"
            " ORDER BY cr.course_id, cr.phase, cr.id"
        )
    ):
        care.setdefault(course_id, []).append(
            {"code": code, "text": text, "kind": kind, "hours": hours, "phase": phase}
        )
    contra = {}
    for course_id, code, days in conn.execute(
        sa.text(
            "SELECT course_id, code, lookback_days FROM course_contraindications"
            " ORDER BY course_id, code"
        )
    ):
        contra.setdefault(course_id, []).append({"condition": code, "lookback_days": days})
    records = {}
    for cid, code, name, sessions, lo, hi, ideal, mask in courses:
        records[cid] = {
            "code": code,
            "name": name,
            "sessions": sessions,
            "min_interval_days": lo,
            "max_interval_days": hi,
            "ideal_interval_days": ideal,
            "care": care.get(cid, []),
            "contraindications": contra.get(cid, []),
            "months": [m for m in range(1, 13) if mask & (1 << (m - 1))],
        }
    return records


def upgrade():
    conn = op.get_bind()
    records = _course_records(conn)
    missing = conn.execute(
        sa.text("SELECT id, course_id FROM enrolments WHERE rules IS NULL")
    ).all()
    update = sa.text("UPDATE enrolments SET rules = :rules WHERE id = :id").bindparams(
        sa.bindparam("rules", type_=sa.JSON())
    )
    for enrolment_id, course_id in missing:
        conn.execute(update, {"rules": records[course_id], "id": enrolment_id})
    with op.batch_alter_table("enrolments") as batch:
        batch.alter_column("rules", existing_type=sa.JSON(), nullable=False)


def downgrade():
    with op.batch_alter_table("enrolments") as batch:
        batch.alter_column("rules", existing_type=sa.JSON(), nullable=True)
