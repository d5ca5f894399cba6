"""The catalogue file (API.md) from the admin page and from `flask catalogue import`: a file can
change anything, so every booked future session is judged (DOMAIN.md "A course over its
lifetime", changes of the world)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clinic.services import catalogue
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.cache import catalogue_transaction
from clinic.services.core.errors import InvalidData
from clinic.services.lifetime import attention
from clinic.services.staffing.common import require_admin


def import_catalogue(
    *, actor: Actor, data: Any, confirm: bool = False, now: datetime | None = None
) -> tuple[catalogue.ImportReport, attention.WorldChange]:
    """Import a catalogue file from the admin page. A file can change anything, so every
    booked future session is judged: without `confirm` nothing is written if any would
    break (the change lists them); with it they are flagged for the attention list."""
    require_admin(actor)
    if not isinstance(data, dict):
        raise InvalidData(
            [{"code": "wrong_type", "field": "$", "message": "The file must hold a JSON object."}]
        )
    with (
        attention.world_change(
            actor=actor, cause="Catalogue imported", confirm=confirm, now=now
        ) as change,
        catalogue_transaction() as s,
    ):
        report = catalogue.import_into(s, data)
        record(s, actor, "import", "catalogue", None, summary=report.summary())
        change.concerns(attention.every_session())
    return report, change


def import_catalogue_file(
    data: Any, *, dry_run: bool = False, now: datetime | None = None
) -> tuple[catalogue.ImportReport, attention.WorldChange]:
    """`flask catalogue import FILE` (API.md): the file is written and the booked future
    sessions it breaks are flagged; `dry_run` judges the same and writes nothing. A file can
    change anything, so every booked future session is judged."""
    with attention.world_change(
        actor=None, cause="Catalogue imported", confirm=True, now=now, dry_run=dry_run
    ) as change:
        report = catalogue.import_catalogue(data)
        change.concerns(attention.every_session())
    return report, change


def export_catalogue(*, actor: Actor) -> dict[str, Any]:
    require_admin(actor)
    return catalogue.export_catalogue()
