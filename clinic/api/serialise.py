"""How the API writes the clinic's values: times with the clinic's offset, care windows, slots
and appointments, and a pydantic model's JSON answer."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, g
from pydantic import BaseModel, TypeAdapter

from clinic.models import Appointment
from clinic.scheduling import CareWindow, Slot
from clinic.services.core import clinic_setup
from clinic.services.world.aftercare import aftercare_for


def clinic_tz() -> ZoneInfo:
    tz: ZoneInfo | None = g.get("clinic_tz")
    if tz is None:
        tz = g.clinic_tz = clinic_setup.clinic_tz()
    return tz


def local(moment: datetime) -> datetime:
    """Times leave the API with the clinic's offset, as clients show them."""
    return moment.astimezone(clinic_tz())


def care_json(windows: tuple[CareWindow, ...]) -> list[dict[str, Any]]:
    tz = clinic_tz()
    return [
        {
            "restriction": w.code,
            "text": w.text,
            "phase": w.phase,
            "start": w.window.start.astimezone(tz),
            "until": w.window.end.astimezone(tz),
        }
        for w in windows
    ]


def where_json(
    device_id: int | None, room_id: int, codes: dict[str, dict[int, str]]
) -> dict[str, Any]:
    """The device and room of a slot or appointment by code (`snapshot.resource_codes`)."""
    return {
        "device": codes["devices"].get(device_id) if device_id else None,
        "room": codes["rooms"].get(room_id, ""),
    }


def slot_json(slot: Slot, codes: dict[str, dict[int, str]]) -> dict[str, Any]:
    return {
        "start": local(slot.start),
        "end": local(slot.end),
        "practitioner": slot.practitioner_id,
        **where_json(slot.device_id, slot.room_id, codes),
    }


def appointment_json(a: Appointment) -> dict[str, Any]:
    return {
        "id": a.id,
        "enrolment": a.enrolment_id,
        "course": a.enrolment.course.code,
        "session": a.session,
        "client": a.client_id,
        "start": local(a.start_at),
        "end": local(a.end_at),
        "status": a.status,
        "practitioner": a.practitioner_id,
        **where_json(a.device_id, a.room_id, clinic_setup.resource_codes()),
        "aftercare": care_json(aftercare_for(a)),
    }


def json_answer(model: type[BaseModel], data: Any, status: int = 200) -> tuple[Response, int]:
    """`data` checked against the answer's model and written as JSON by pydantic in one pass
    (through Python's json module it cost as much as planning a course)."""
    if isinstance(data, list):
        body = _list_of(model).dump_json([model.model_validate(item) for item in data])
    else:
        body = model.model_validate(data).model_dump_json().encode()
    return Response(body, mimetype="application/json"), status


@functools.cache
def _list_of(model: type[BaseModel]) -> TypeAdapter[list[BaseModel]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]
