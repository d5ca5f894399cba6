"""The clinic's set-up pages: admin only; each form saves, refuses bad values, needs CSRF."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import date, time

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import (
    ClinicSettings,
    Device,
    Holiday,
    OpeningHours,
    Practitioner,
    Room,
    TimeOff,
    User,
    WorkingHours,
)
from tests.web.conftest import ALL_ROLES


def messages(page: str) -> list[str]:
    found = re.findall(r'<p class="error"[^>]*>([^<]*)</p>', page)
    found += (
        re.findall(r"<li>([^<]*)</li>", page.split("Not saved", 1)[1])
        if "Not saved" in page
        else []
    )
    return [html.unescape(m) for m in found]


def policy(**overrides) -> dict[str, str]:
    data = {
        "name": "Skin Studio",
        "slot_minutes": "15",
        "notice_hours": "48",
        "horizon_days": "200",
        "screening_valid_days": "90",
    }
    data.update(overrides)
    return data


POSTS = [
    (
        "/staff/admin/users",
        {"name": "Rita", "email": "rita@x.com", "role": "receptionist", "password": "password123"},
    ),
    ("/staff/admin/policy", policy()),
    ("/staff/admin/opening-hours", {"mon": "08:00-20:00"}),
    ("/staff/admin/holidays", {"day": "2026-12-25", "name": "Christmas"}),
    ("/staff/admin/rooms", {"code": "R9", "name": "Room 9"}),
    ("/staff/admin/devices", {"code": "IPL-1", "kind": "ipl", "name": "IPL"}),
    (
        "/staff/admin/practitioners/new",
        {"name": "Nia", "email": "nia@x.com", "qualifications": "peel", "mon": "09:00-17:00"},
    ),
]


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize(
    "url", ["/staff/admin", "/staff/admin/practitioners/new", "/staff/admin/catalogue.json"]
)
def test_setup_pages_are_for_admins_only(client, login_as, clinic, role, url) -> None:
    login_as(role)
    assert client.get(url).status_code == (200 if role == "admin" else 403)


@pytest.mark.parametrize("role", ["receptionist", "practitioner", "client"])
@pytest.mark.parametrize(("url", "data"), POSTS)
def test_setup_forms_are_refused_to_other_roles(client, login_as, clinic, role, url, data) -> None:
    login_as(role)
    assert client.post(url, data=data).status_code == 403


@pytest.mark.parametrize(("url", "data"), POSTS)
def test_setup_forms_refuse_a_post_without_csrf_token(
    client, login_as, clinic, csrf_on, url, data
) -> None:
    login_as("admin")
    assert client.post(url, data=data).status_code == 400


@pytest.mark.parametrize(("url", "data"), POSTS)
def test_setup_forms_save_valid_values(client, login_as, clinic, url, data) -> None:
    login_as("admin")
    response = client.post(url, data=data)
    assert response.status_code == 302, messages(response.get_data(as_text=True))


def test_created_staff_account_can_log_in_with_its_role(client, login_as, clinic) -> None:
    login_as("admin")
    client.post("/staff/admin/users", data=POSTS[0][1])
    user = db.session.scalar(select(User).where(User.email == "rita@x.com"))
    assert user.role == "receptionist" and user.check_password("password123")


def test_admin_changes_a_role_and_deactivates_an_account(client, login_as, clinic) -> None:
    admin = login_as("admin")
    other = db.session.scalar(select(User).where(User.role == "receptionist"))
    response = client.post(
        f"/staff/admin/users/{other.id}", data={f"u{other.id}-role": "practitioner"}
    )
    assert response.status_code == 302
    db.session.refresh(other)
    assert (other.role, other.active) == ("practitioner", False)
    refused = client.post(
        f"/staff/admin/users/{admin.id}",
        data={f"u{admin.id}-role": "receptionist", f"u{admin.id}-active": "y"},
    )
    assert refused.status_code == 422
    assert "You cannot take away your own admin access" in refused.get_data(as_text=True)


def test_the_clinics_address_is_saved_shown_and_exported(client, login_as, clinic) -> None:
    login_as("admin")
    address = "Hauptstrasse 1\r\n10115 Berlin"
    assert client.post("/staff/admin/policy", data=policy(address=address)).status_code == 302
    settings = db.session.scalar(select(ClinicSettings))
    db.session.refresh(settings)
    assert settings.address == "Hauptstrasse 1\n10115 Berlin"
    assert "Hauptstrasse 1\n10115 Berlin</textarea>" in client.get("/staff/admin").get_data(
        as_text=True
    )
    exported = client.get("/staff/admin/catalogue.json").get_json()
    assert exported["clinic"]["address"] == "Hauptstrasse 1\n10115 Berlin"


def test_a_too_long_address_is_refused_next_to_its_field(client, login_as, clinic) -> None:
    login_as("admin")
    refused = client.post("/staff/admin/policy", data=policy(address="x" * 301))
    assert refused.status_code == 422
    assert 'id="address-error"' in refused.get_data(as_text=True)
    settings = db.session.scalar(select(ClinicSettings))
    db.session.refresh(settings)
    assert settings.address == ""


@pytest.mark.parametrize("checked", [True, False])
def test_the_no_show_policy_is_saved_and_shown(client, login_as, clinic, checked) -> None:
    login_as("admin")
    data = policy(no_show_uses_session="y") if checked else policy()
    assert client.post("/staff/admin/policy", data=data).status_code == 302
    settings = db.session.scalar(select(ClinicSettings))
    db.session.refresh(settings)
    assert settings.no_show_uses_session is checked
    page = client.get("/staff/admin").get_data(as_text=True)
    box = re.search(r'<input[^>]*name="no_show_uses_session"[^>]*>', page)
    assert box is not None and ("checked" in box.group(0)) is checked


def test_policy_is_saved(client, login_as, clinic) -> None:
    login_as("admin")
    client.post("/staff/admin/policy", data=policy())
    settings = db.session.scalar(select(ClinicSettings))
    db.session.refresh(settings)
    assert (
        settings.name,
        settings.client_change_notice_hours,
        settings.horizon_days,
        settings.screening_valid_days,
    ) == ("Skin Studio", 48, 200, 90)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"notice_hours": "-1"},
            "Notice for client changes (hours) must be from 0 to 8760; got -1.",
        ),
        ({"horizon_days": "0"}, "Booking horizon (days) must be from 1 to 1100; got 0."),
        ({"slot_minutes": "7"}, "Slot length must divide an hour evenly"),
        ({"screening_valid_days": "0"}, "A screening stays valid from 1 to 3650 days; got 0."),
        ({"notice_hours": "soon"}, "Not a valid integer value."),
        ({"name": ""}, "Give the name."),
    ],
)
def test_policy_refuses_impossible_values(client, login_as, clinic, overrides, message) -> None:
    login_as("admin")
    response = client.post("/staff/admin/policy", data=policy(**overrides))
    assert response.status_code == 422
    assert any(m.startswith(message) for m in messages(response.get_data(as_text=True)))
    assert db.session.scalar(select(ClinicSettings.client_change_notice_hours)) == 24


def test_opening_hours_replace_the_week(client, login_as, clinic) -> None:
    login_as("admin")
    client.post(
        "/staff/admin/opening-hours", data={"mon": "08:00-12:00, 13:00-20:00", "sat": "10:00-14:00"}
    )
    rows = db.session.scalars(
        select(OpeningHours).order_by(OpeningHours.weekday, OpeningHours.opens)
    ).all()
    assert [(r.weekday, r.opens, r.closes) for r in rows] == [
        (0, time(8), time(12)),
        (0, time(13), time(20)),
        (5, time(10), time(14)),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mon": "9 to 5"}, "Write the hours as 09:00-13:00, 14:00-18:00"),
        ({"mon": "17:00-09:00"}, "The interval ends at or before it starts."),
        ({"mon": "09:00-25:00"}, "Expected a time as HH:MM"),
        ({"mon": "09:00-13:00, 12:00-18:00"}, "Overlaps another interval on mon."),
    ],
)
def test_opening_hours_refuse_bad_intervals(client, login_as, clinic, data, message) -> None:
    login_as("admin")
    response = client.post("/staff/admin/opening-hours", data=data)
    assert response.status_code == 422
    assert any(m.startswith(message) for m in messages(response.get_data(as_text=True)))


def test_holiday_is_added_and_removed(client, login_as, clinic) -> None:
    login_as("admin")
    client.post("/staff/admin/holidays", data={"day": "2026-12-25", "name": "Christmas"})
    holiday = db.session.scalar(select(Holiday))
    assert (holiday.day, holiday.name) == (date(2026, 12, 25), "Christmas")
    again = client.post("/staff/admin/holidays", data={"day": "2026-12-25"})
    assert again.status_code == 422 and "2026-12-25 is already a holiday." in again.get_data(
        as_text=True
    )
    client.post(f"/staff/admin/holidays/{holiday.id}/remove")
    assert db.session.scalar(select(Holiday)) is None


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("/staff/admin/holidays", {"day": "2026-02-30"}, "Not a valid date value."),
        ("/staff/admin/rooms", {"code": "bad code", "name": "x"}, "A code is letters, digits"),
        ("/staff/admin/rooms", {"code": "R3", "name": ""}, "Give the name."),
        (
            "/staff/admin/devices",
            {"code": "D1", "kind": "two words", "name": "x"},
            "A code is letters",
        ),
        (
            "/staff/admin/users",
            {
                "name": "X",
                "email": "not-an-email",
                "role": "receptionist",
                "password": "password123",
            },
            "Give a valid email address.",
        ),
        (
            "/staff/admin/users",
            {"name": "X", "email": "x@x.com", "role": "client", "password": "password123"},
            "Not a valid choice.",
        ),
        (
            "/staff/admin/users",
            {"name": "X", "email": "x@x.com", "role": "receptionist", "password": "short"},
            "The password needs at least 8 characters.",
        ),
    ],
)
def test_setup_forms_refuse_bad_values(client, login_as, clinic, url, data, message) -> None:
    login_as("admin")
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert any(m.startswith(message) for m in messages(response.get_data(as_text=True)))


def test_room_and_device_go_out_of_use_and_back(client, login_as, clinic) -> None:
    login_as("admin")
    client.post("/staff/admin/devices", data={"code": "IPL-1", "kind": "ipl", "name": "IPL"})
    device = db.session.scalar(select(Device).where(Device.code == "IPL-1"))
    client.post(f"/staff/admin/device/{device.id}/active", data={"active": "0"})
    db.session.refresh(device)
    assert device.active is False
    room = db.session.scalar(select(Room).where(Room.code == "R1"))
    client.post(f"/staff/admin/room/{room.id}/active", data={"active": "0"})
    db.session.refresh(room)
    assert room.active is False


def test_practitioner_hours_and_qualifications_are_saved(client, login_as, clinic) -> None:
    login_as("admin")
    p = clinic.practitioner
    response = client.post(
        f"/staff/admin/practitioners/{p.id}",
        data={"name": "Dana D.", "qualifications": "peel, laser, massage", "tue": "10:00-18:00"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    p = db.session.get(Practitioner, p.id)
    assert p.name == "Dana D." and p.qualification_codes == ["laser", "massage", "peel"]
    hours = db.session.scalars(
        select(WorkingHours).where(WorkingHours.practitioner_id == p.id)
    ).all()
    assert [(h.weekday, h.starts, h.ends) for h in hours] == [(1, time(10), time(18))]


def test_practitioner_time_off_is_added_with_a_note_and_refused_when_reversed(
    client, login_as, clinic
) -> None:
    login_as("admin")
    p = clinic.practitioner
    url = f"/staff/admin/practitioners/{p.id}/time-off"
    refused = client.post(url, data={"start_on": "2027-01-10", "end_on": "2027-01-05"})
    assert refused.status_code == 422
    assert "The time off ends before it starts." in refused.get_data(as_text=True)
    assert (
        client.post(
            url, data={"start_on": "2027-01-05", "end_on": "2027-01-10", "note": "Ski"}
        ).status_code
        == 302
    )
    overlapping = client.post(url, data={"start_on": "2027-01-08", "end_on": "2027-01-12"})
    assert "Overlaps another period of time off." in overlapping.get_data(as_text=True)
    row = db.session.scalar(select(TimeOff))
    assert (row.start_on, row.end_on, row.note) == (date(2027, 1, 5), date(2027, 1, 10), "Ski")
    client.post(f"/staff/admin/time-off/{row.id}/remove")
    assert db.session.scalar(select(TimeOff)) is None


def test_catalogue_exports_and_imports_from_the_browser(client, login_as, clinic) -> None:
    login_as("admin")
    exported = client.get("/staff/admin/catalogue.json")
    assert exported.headers["Content-Disposition"] == 'attachment; filename="catalogue.json"'
    data = json.loads(exported.get_data())
    assert [c["code"] for c in data["courses"]] == ["peel_course"]
    data["courses"][0]["sessions"] = 4
    response = client.post(
        "/staff/admin/catalogue",
        data={"file": (io.BytesIO(json.dumps(data).encode()), "catalogue.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert db.session.scalar(select(ClinicSettings)) is not None
    from clinic.models import Course

    assert db.session.scalar(select(Course.sessions)) == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "The file is not valid JSON"),
        (b'{"courses": [{"code": "x"}]}', "courses[0].name: 'name' is required."),
        (b"[1, 2]", "The file must hold a JSON object."),
    ],
)
def test_catalogue_import_refuses_a_bad_file(client, login_as, clinic, content, message) -> None:
    login_as("admin")
    response = client.post(
        "/staff/admin/catalogue",
        data={"file": (io.BytesIO(content), "catalogue.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert any(m.startswith(message) for m in messages(response.get_data(as_text=True)))


def test_catalogue_import_needs_a_file(client, login_as, clinic) -> None:
    login_as("admin")
    response = client.post("/staff/admin/catalogue", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a file." in response.get_data(as_text=True)
