"""occupancy changes: an append-only log of the spans whose occupancy changed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 05:30:00

Issue 20: each worker keeps the days' occupancy it has read (services/world/day_memory.py) and
must forget a day as soon as a committed transaction changed it. A trigger on `appointments`
inserts one row per span of time whose occupancy a write changed: the new span of a session
that starts holding time, the old span of one that stops, both when a holding session moves
or changes practitioner, room or device. A status change between holding statuses (booked to
done) changes nothing and logs nothing. Rows are only ever inserted (no row that every write
updates), and on PostgreSQL carry the writing transaction's id, so that readers can follow
commit order. A TRUNCATE (tests, restores) logs one span from year 1 to 9999 (finite: the
driver reads it as a datetime), which makes every reader forget every day.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

HOLDING = "('booked','done','no_show')"
MOVED = (
    "OLD.start_at IS DISTINCT FROM NEW.start_at"
    " OR OLD.busy_until_at IS DISTINCT FROM NEW.busy_until_at"
    " OR OLD.practitioner_id IS DISTINCT FROM NEW.practitioner_id"
    " OR OLD.room_id IS DISTINCT FROM NEW.room_id"
    " OR OLD.device_id IS DISTINCT FROM NEW.device_id"
)
XID = "pg_current_xact_id()::text::bigint"

POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION occupancy_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO occupancy_changes (start_at, busy_until_at, xid)
        VALUES ('0001-01-02 00:00+00', '9999-12-30 00:00+00', {XID});
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN {HOLDING} THEN
            INSERT INTO occupancy_changes (start_at, busy_until_at, xid)
            VALUES (OLD.start_at, OLD.busy_until_at, {XID});
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status IN {HOLDING} THEN
            INSERT INTO occupancy_changes (start_at, busy_until_at, xid)
            VALUES (NEW.start_at, NEW.busy_until_at, {XID});
        END IF;
        RETURN NULL;
    END IF;
    IF (OLD.status IN {HOLDING}) IS DISTINCT FROM (NEW.status IN {HOLDING})
            OR (NEW.status IN {HOLDING} AND ({MOVED})) THEN
        IF OLD.status IN {HOLDING} THEN
            INSERT INTO occupancy_changes (start_at, busy_until_at, xid)
            VALUES (OLD.start_at, OLD.busy_until_at, {XID});
        END IF;
        IF NEW.status IN {HOLDING} THEN
            INSERT INTO occupancy_changes (start_at, busy_until_at, xid)
            VALUES (NEW.start_at, NEW.busy_until_at, {XID});
        END IF;
    END IF;
    RETURN NULL;
END $$
"""

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER occupancy_appointments_insert AFTER INSERT ON appointments
    WHEN NEW.status IN {HOLDING}
    BEGIN
        INSERT INTO occupancy_changes (start_at, busy_until_at)
        VALUES (NEW.start_at, NEW.busy_until_at);
    END""",
    f"""CREATE TRIGGER occupancy_appointments_update AFTER UPDATE ON appointments
    WHEN (OLD.status IN {HOLDING}) IS NOT (NEW.status IN {HOLDING})
        OR (NEW.status IN {HOLDING} AND ({MOVED.replace("IS DISTINCT FROM", "IS NOT")}))
    BEGIN
        INSERT INTO occupancy_changes (start_at, busy_until_at)
        SELECT OLD.start_at, OLD.busy_until_at WHERE OLD.status IN {HOLDING};
        INSERT INTO occupancy_changes (start_at, busy_until_at)
        SELECT NEW.start_at, NEW.busy_until_at WHERE NEW.status IN {HOLDING};
    END""",
    f"""CREATE TRIGGER occupancy_appointments_delete AFTER DELETE ON appointments
    WHEN OLD.status IN {HOLDING}
    BEGIN
        INSERT INTO occupancy_changes (start_at, busy_until_at)
        VALUES (OLD.start_at, OLD.busy_until_at);
    END""",
)


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    op.create_table(
        "occupancy_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("busy_until_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=True),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_occupancy_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_occupancy_changes_xid"), "occupancy_changes", ["xid"])
    if _on_postgresql():
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(
            "CREATE TRIGGER occupancy_appointments AFTER INSERT OR UPDATE OR DELETE ON "
            "appointments FOR EACH ROW EXECUTE FUNCTION occupancy_changed()"
        )
        op.execute(
            "CREATE TRIGGER occupancy_appointments_truncate AFTER TRUNCATE ON appointments "
            "FOR EACH STATEMENT EXECUTE FUNCTION occupancy_changed()"
        )
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade():
    if _on_postgresql():
        op.execute("DROP TRIGGER IF EXISTS occupancy_appointments_truncate ON appointments")
        op.execute("DROP TRIGGER IF EXISTS occupancy_appointments ON appointments")
        op.execute("DROP FUNCTION IF EXISTS occupancy_changed()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS occupancy_appointments_{name}")
    op.drop_index(op.f("ix_occupancy_changes_xid"), table_name="occupancy_changes")
    op.drop_table("occupancy_changes")
