"""Bad input on every HTML form: for each route that takes a POST (the JSON API aside, which
schemathesis fuzzes), hypothesis fills the fields of the page's own forms with junk and the
app must never answer 5xx; a 4xx is a page that says what went wrong.

The clinic is the demo (load_demo), so URLs and selects carry real ids as well as ids that
belong to no row (0, 2**63, ...). Each route is posted by one role its gate lets through
(tests/test_access_matrix.py): anonymous for the public forms, else the admin, else a client.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask, current_app, g, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Rule

from clinic import create_app
from clinic.demo import demo_catalogue, load_demo
from clinic.extensions import db
from clinic.models import (
    Appointment,
    Client,
    ClientPeriod,
    ConsentForm,
    Course,
    Device,
    Enrolment,
    Holiday,
    Practitioner,
    Procedure,
    Restriction,
    Room,
    TimeOff,
    User,
)
from clinic.services.people.message_choices import choices_token
from clinic.services.people.passwords import reset_token
from tests import factories as f
from tests.conftest import ReusedApp
from tests.test_access_matrix import ANONYMOUS, EXPECTED

# --- the routes --------------------------------------------------------------------------------


def _form_rules() -> list[Rule]:
    app = create_app("testing")
    rules = [
        r
        for r in app.url_map.iter_rules()
        if "POST" in (r.methods or set()) and not r.rule.startswith("/api/")
    ]
    return sorted(rules, key=lambda r: r.rule)


RULES = _form_rules()


def _role(endpoint: str) -> str:
    allowed = EXPECTED[f"POST {endpoint}"]
    if ANONYMOUS in allowed:
        return ANONYMOUS
    return "admin" if "admin" in allowed else "client"


# --- the clinic --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_template(migrated_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated database with the demo clinic loaded once, copied for each route."""
    path = tmp_path_factory.mktemp("fuzz") / "demo.db"
    shutil.copy(migrated_template, path)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        load_demo(datetime.now(UTC))
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture
def app(reused_app: ReusedApp, demo_template: Path) -> Iterator[Flask]:
    with reused_app.fresh(demo_template) as app:
        yield app


@dataclass
class Seed:
    """Real values for URL arguments, the one to show a page with first."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    catalogue: dict[str, list[str]] = field(default_factory=dict)
    client_user_id: int = 0

    def first(self, name: str) -> Any:
        return self.values[name][0]


def _ids(model: Any, *where: Any) -> list[int]:
    return list(db.session.scalars(select(model.id).where(*where).order_by(model.id)))


def _seed() -> Seed:
    soon = datetime.now(UTC) + timedelta(days=3)
    future = (Appointment.status == "booked", Appointment.start_at > soon)
    # The client with the most booked sessions ahead: its pages have something to change.
    client_id = db.session.execute(
        select(Appointment.client_id)
        .where(*future)
        .group_by(Appointment.client_id)
        .order_by(func.count().desc(), Appointment.client_id)
        .limit(1)
    ).scalar_one()
    mine = _ids(Appointment, *future, Appointment.client_id == client_id)
    booked = _ids(Appointment, *future)
    if not _ids(ClientPeriod, ClientPeriod.client_id == client_id):
        # Which demo client is busiest moves with the clock (its sessions are around today):
        # one without a declared period would leave its periods page no delete form to fuzz.
        start = datetime.now(UTC).date() + timedelta(days=60)
        period = ClientPeriod(client_id=client_id, kind="sun_exposure", start_on=start)
        period.end_on = start + timedelta(days=7)
        db.session.add(period)
        db.session.commit()
    periods = _ids(ClientPeriod, ClientPeriod.client_id == client_id) + _ids(ClientPeriod)
    user_id = db.session.get(Client, client_id).user_id  # type: ignore[union-attr]
    # A calendar feed, so that the profile shows its "turn off" form too.
    db.session.get(Client, client_id).calendar_feed_hash = "0" * 64  # type: ignore[union-attr]
    db.session.commit()
    catalogue = {
        kind: list(db.session.scalars(select(model.code).order_by(model.code)))
        for kind, model in (
            ("course", Course),
            ("procedure", Procedure),
            ("restriction", Restriction),
        )
    }
    return Seed(
        values={
            "appointment_id": mine + booked + _ids(Appointment),
            "started_id": _ids(
                Appointment,
                Appointment.status != "cancelled",
                Appointment.start_at <= datetime.now(UTC),
            ),
            "enrolment_id": _ids(Enrolment, Enrolment.client_id == client_id) + _ids(Enrolment),
            "client_id": [client_id, *_ids(Client)],
            "user_id": _ids(User),
            "holiday_id": _ids(Holiday),
            "record_id": _ids(Room) + _ids(Device),
            "practitioner_id": _ids(Practitioner),
            "time_off_id": _ids(TimeOff),
            "period_id": periods,
            "code": catalogue["course"],
            "token": [
                reset_token(db.session.get(User, user_id), current_app.config["SECRET_KEY"]),
                "not-a-token",
            ],
        },
        catalogue=catalogue,
        client_user_id=user_id,
    )


def _real_args(rule: Rule, seed: Seed) -> list[dict[str, Any]]:
    """URL arguments of existing rows, the one to show the page with first."""
    if rule.endpoint == "staff.set_active":
        rooms, devices = _ids(Room), _ids(Device)
        return [{"kind": "room", "record_id": i} for i in rooms] + [
            {"kind": "device", "record_id": i} for i in devices
        ]
    if rule.endpoint == "staff.new_record":
        return [{"kind": kind} for kind in seed.catalogue]
    if rule.endpoint.startswith(("auth.message_choices_by_link", "auth.unsubscribe")):
        # its token is a choices link's
        token = choices_token(seed.first("client_id"), current_app.config["SECRET_KEY"])
        return [{"token": token, **({"topic": "care"} if "topic" in rule.arguments else {})}]
    if rule.endpoint == "booking.sign_consent":  # its code is a consent form's
        return [{"code": code} for code in db.session.scalars(select(ConsentForm.code))]
    if "kind" in rule.arguments:  # a catalogue record
        return [
            {"kind": kind, "code": code}
            for kind, codes in seed.catalogue.items()
            for code in codes[:3]
        ]
    names = sorted(rule.arguments)
    if not names:
        return [{}]
    longest = max(len(seed.values[n]) for n in names)
    return [
        {n: seed.values[n][min(i, len(seed.values[n]) - 1)] for n in names}
        for i in range(min(longest, 6))
    ]


def _host_pages(rule: Rule, seed: Seed, args: dict[str, Any]) -> list[str]:
    """The pages that hold this route's forms (its own page first, if it has one)."""
    pages = [url_for(rule.endpoint, **args)] if "GET" in (rule.methods or set()) else []
    endpoint = rule.endpoint
    if endpoint in (
        "staff.move_appointment",
        "staff.cancel_appointment",
        "staff.cancel_enrolment",
    ):
        pages.append(url_for("staff.show_appointment", appointment_id=seed.first("appointment_id")))
    elif endpoint == "staff.record_outcome":  # its form is on the page of a session held
        pages.append(url_for("staff.show_appointment", appointment_id=seed.first("started_id")))
    elif endpoint == "staff.record_reaction":  # its form is on the page of a held patch test
        held_test = db.session.scalar(
            select(Appointment.id)
            .join(Enrolment, Enrolment.id == Appointment.enrolment_id)
            .join(Course, Course.id == Enrolment.course_id)
            .join(Procedure, Procedure.id == Course.procedure_id)
            .where(
                Appointment.status == "done",
                Procedure.code.in_(select(Procedure.patch_test_procedure)),
            )
        )
        pages.append(url_for("staff.show_appointment", appointment_id=held_test))
    elif endpoint in (
        "staff.add_time_off",
        "staff.remove_time_off",
        "staff.set_practitioner_active",
    ):
        pages.append(
            url_for("staff.edit_practitioner", practitioner_id=seed.first("practitioner_id"))
        )
    elif endpoint.startswith("staff.") and rule.rule.startswith("/staff/admin/"):
        pages.append(url_for("staff.admin_home"))
    elif endpoint == "staff.adopt_enrolment_rules":
        pages.append(
            url_for("staff.preview_enrolment_rules", enrolment_id=seed.first("enrolment_id"))
        )
    elif endpoint == "staff.retire_record":
        pages.append(url_for("staff.catalogue"))
    elif endpoint == "staff.record_paper_consent":  # its form is on the client's page
        pages.append(url_for("staff.show_client", client_id=args["client_id"]))
    elif endpoint == "staff.accept_replan":
        pages.append(url_for("staff.attention"))
    elif endpoint == "staff.record_photo_consent":
        pages.append(url_for("staff.show_client", client_id=seed.first("client_id")))
    elif endpoint == "booking.delete_period":
        pages.append(url_for("booking.periods"))
    elif endpoint == "auth.save_message_choices":  # its form is on the profile
        pages.append(url_for("auth.profile"))
    elif endpoint == "booking.book":
        start = datetime.now(UTC) + timedelta(days=20)
        pages.append(url_for("booking.review", code=args["code"], s=[f"{start:%Y%m%dT1000Z}-0"]))
    elif endpoint in ("booking.book_rest", "staff.book_rest"):
        plan_rest = endpoint.replace("book_rest", "plan_rest")
        pages.append(url_for(plan_rest, enrolment_id=args["enrolment_id"], count=1))
    elif endpoint in ("auth.issue_calendar_feed", "auth.revoke_calendar_feed"):
        pages.append(url_for("auth.profile"))
    elif endpoint == "auth.logout":
        pages.append(url_for("booking.courses"))
    elif endpoint == "auth.logout_everywhere":  # also on a client's profile page
        pages.append(url_for("auth.change_password"))
    return pages


# --- the forms in a page -----------------------------------------------------------------------


@dataclass
class Field:
    kind: str
    options: list[str] = field(default_factory=list)


class FormParser(HTMLParser):
    """The POST forms of a page: action -> {field name: Field}."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, Field]]] = []
        self._fields: dict[str, Field] | None = None
        self._select: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._fields = {} if a.get("method", "get").lower() == "post" else None
            if self._fields is not None:
                self.forms.append((a.get("action", ""), self._fields))
            return
        if self._fields is None or tag not in ("input", "select", "textarea", "button", "option"):
            return
        if tag == "option":
            if self._select is not None:
                self._select.options.append(a.get("value", ""))
            return
        name = a.get("name")
        if not name:
            return
        if tag == "select":
            kind = "select-multiple" if "multiple" in a else "select"
        elif tag == "input":
            kind = a.get("type", "text").lower()
        else:
            kind = tag
        fld = self._fields.setdefault(name, Field(kind))
        if "value" in a:
            fld.options.append(a["value"])
        self._select = fld if tag == "select" else None

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class MessageParser(HTMLParser):
    """The words a person reads as the answer: the page title, the text in <main>, and the
    text of error boxes and field errors (role="alert", class "error")."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool, bool]] = []  # tag, in <main>, in a message
        self.title = ""
        self.main: list[str] = []
        self.messages: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        a = {k: v or "" for k, v in attrs}
        in_main, in_message = self.stack[-1][1:] if self.stack else (False, False)
        message = a.get("role") == "alert" or "error" in a.get("class", "").split()
        self.stack.append((tag, in_main or tag == "main", in_message or message))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.stack:
            return
        tag, in_main, in_message = self.stack[-1]
        words = re.findall(r"[A-Za-z]{2,}", data)
        if tag == "title":
            self.title += data.strip()
        if in_main:
            self.main += words
        if in_message:
            self.messages += words


def _fields_for(
    app: Flask, web: FlaskClient, rule: Rule, pages: list[str]
) -> dict[str, Field] | None:
    """The fields of the pages' forms that post to `rule` (None: no such form)."""
    adapter = app.url_map.bind("localhost")
    fields: dict[str, Field] | None = None
    for page in pages:
        response = web.get(page)
        assert response.status_code == 200, (page, response.status_code)
        parser = FormParser()
        parser.feed(response.get_data(as_text=True))
        for action, found in parser.forms:
            path = urlsplit(action).path or urlsplit(page).path
            try:
                matched, _ = adapter.match(path, method="POST", return_rule=True)
            except HTTPException:
                continue
            if matched.rule == rule.rule:
                fields = fields or {}
                for name, fld in found.items():
                    fields.setdefault(name, fld).options.extend(fld.options)
    if fields is not None:
        fields.pop("csrf_token", None)
    return fields


# --- junk ----------------------------------------------------------------------------------

OMIT = object()
NASTY = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "2147483648",
        str(2**63),
        str(2**64),
        "-9223372036854775809",
        "1e309",
        "NaN",
        "inf",
        "null",
        "on",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "{{ 7*7 }}",
        "%s%n",
        "\u202egnp.exe",
        "💉🧴",
        "a\x00b",
        "x" * 5000,
        "é" * 20000,
    ]
)
DATES = st.dates().map(lambda d: d.isoformat()) | st.sampled_from(
    ["2024-02-30", "2024-13-01", "31.12.2024", "0000-00-00", "2024-1-1", "+12024-01-01", "today"]
)
TIMES = st.times().map(lambda t: t.isoformat(timespec="minutes")) | st.sampled_from(
    ["24:00", "25:61", "12:60", "-1:00", "9", "12:00:00.5", "noon"]
)
NUMBERS = st.integers(-(2**70), 2**70).map(str) | st.floats().map(str)
STAMPS = st.datetimes().map(lambda d: f"{d:%Y%m%dT%H%M}Z-{d.microsecond % 5}") | st.sampled_from(
    ["99999999T9999Z-1", "20300101T1000Z-" + str(2**63), "20300101T1000Z--1", "-"]
)
SCALAR = st.one_of(st.text(max_size=30), NASTY, NUMBERS, DATES, TIMES, STAMPS)
FILES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"{}", b"[]", b'{"courses": 1}', b'{"clinic": {"name": null}}', b"\xff\xfe"]),
).map(lambda b: (io.BytesIO(b), "catalogue.json"))

# FORM_FUZZ_EXAMPLES=300 for a deeper run by hand; the suite's run stays quick.
EXAMPLES = int(os.environ.get("FORM_FUZZ_EXAMPLES", "12"))
SOON = datetime.now(UTC) + timedelta(days=20)
# Fields the GET pages do not show: the rows of a proposed plan.
EXTRA_FIELDS = {
    "staff.book": {
        "sessions-0-day": Field("date"),
        "sessions-0-time": Field("time"),
        "sessions-0-practitioner": Field("text", ["0", "1"]),
        "sessions-31-day": Field("date"),
    },
    "booking.book": {"s": Field("hidden", [f"{SOON:%Y%m%d}T0900Z-0", f"{SOON:%Y%m%d}T1000Z-1"])},
    # The proposal is missing from the page when the course has nothing left to book.
    "booking.book_rest": {"s": Field("hidden", [f"{SOON:%Y%m%d}T0900Z-0"])},
    "staff.book_rest": {
        "s": Field("hidden", [f"{SOON:%Y%m%d}T0900Z-0"]),
        "override_reason": Field("textarea"),
        "precare_confirmed": Field("checkbox", ["y"]),
    },
    # The demo's courses follow their templates: the preview shows no form to confirm.
    "staff.adopt_enrolment_rules": {"confirm": Field("hidden", ["1"])},
    # The demo has no flagged session, so the attention page shows no re-plan to accept.
    "staff.accept_replan": {
        "move": Field("hidden", [f"1|{SOON:%Y-%m-%dT10:00:00+00:00}|1", "1|2030-01-07T10:00|1"]),
        "confirm": Field("hidden", ["1"]),
    },
    # The record's form is the held session's practitioner's; the admin reads the page.
    "staff.treatment_record": {
        "areas": Field("textarea"),
        "products": Field("textarea"),
        "reaction": Field("radio", ["0", "3"]),
        "notes": Field("textarea"),
        "sign": Field("submit", ["Sign off"]),
    },
    # A practitioner's form (the fuzz posts as a client, whom the gate refuses).
    "staff.upload_photo": {"photo": Field("file"), "kind": Field("select", ["before", "after"])},
    # Shown on the attention list beside a severe reaction's review; the demo has none.
    "staff.push_course": {"days": Field("number")},
}


def _sensible(name: str, fld: Field) -> Any:
    """A value the form would take, so that the other fields' junk reaches the services."""
    shown = [o for o in fld.options if o]
    later = name.endswith(("_to", "end"))
    if fld.kind == "file":
        return (io.BytesIO(json.dumps(demo_catalogue()).encode()), "catalogue.json")
    if fld.kind == "date":
        if name.endswith("_last"):
            return (SOON.date() - timedelta(days=400)).isoformat()
        return (SOON.date() + timedelta(days=10 if later else 0)).isoformat()
    if fld.kind == "time":
        return "16:00" if later else "10:00"
    if fld.kind == "email" or "email" in name:
        return f"fuzz{len(name)}@example.com"
    if fld.kind == "password":
        return "a-long-enough-password"
    if shown:
        return shown[-1] if later else shown[min(1, len(shown) - 1)]
    return "1" if fld.kind == "number" else "Fuzz"


@st.composite
def _form(draw: st.DrawFn, fields: dict[str, Field]) -> dict[str, Any]:
    """Now and then every field junk; mostly a sensible form with a few junk fields."""
    names = sorted(fields)
    if not names:
        return {}
    if draw(st.integers(0, 3)) == 0:
        junk = set(names)
    else:
        junk = draw(st.sets(st.sampled_from(names), max_size=3))
    return {n: draw(_value(fields[n])) if n in junk else _sensible(n, fields[n]) for n in names}


def _value(fld: Field) -> st.SearchStrategy[Any]:
    if fld.kind == "file":
        return st.one_of(st.just(OMIT), FILES, SCALAR)
    own = {"date": DATES, "time": TIMES, "number": NUMBERS}.get(fld.kind, SCALAR)
    base = st.one_of(st.sampled_from(fld.options), own, SCALAR) if fld.options else own | SCALAR
    return st.one_of(st.just(OMIT), base, st.lists(base, min_size=2, max_size=4))


def _url_args(rule: Rule, real: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, str]]:
    """Half the time the arguments of an existing row, else ids and names of none."""
    odd: dict[str, st.SearchStrategy[str]] = {}
    for name in rule.arguments:
        mine = [str(args[name]) for args in real]
        if isinstance(rule._converters[name], IntegerConverter):
            ids = ["0", "-1", str(2**31), str(2**63 - 1), str(2**63), str(2**64), "999999"]
            odd[name] = st.sampled_from(mine[:2] + ids)
        else:
            text = st.text(min_size=1, max_size=20).map(lambda s: quote(s, safe=""))
            odd[name] = st.sampled_from(mine) | text
    existing = st.sampled_from([{k: str(v) for k, v in args.items()} for args in real])
    return existing | st.fixed_dictionaries(odd)


def _url(rule: Rule, args: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: args[m.group(1)], rule.rule)


# --- the test ------------------------------------------------------------------------------


def _log_in(web: FlaskClient, user_id: int | None) -> None:
    g.pop("_login_user", None)  # Flask-Login's cache lives in the test's app context
    with web.session_transaction() as session:
        session.clear()
        if user_id is not None:
            f.log_in(session, user_id)


def _says_why(response: Any) -> bool:
    """A refusal in words: an error box or field error, or the error page for its status."""
    parser = MessageParser()
    parser.feed(response.get_data(as_text=True))
    error_page = parser.title.startswith(str(response.status_code)) and len(parser.main) >= 4
    return len(parser.messages) >= 2 or error_page


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.endpoint}:{r.rule}" for r in RULES])
def test_form_never_answers_5xx_to_junk(
    app: Flask, client: FlaskClient, login_as: Callable[..., User], rule: Rule
) -> None:
    seed = _seed()
    role = _role(rule.endpoint)
    user_id = {ANONYMOUS: None, "client": seed.client_user_id}.get(role)
    if role == "admin":
        user_id = login_as("admin").id
    _log_in(client, user_id)
    real_args = _real_args(rule, seed)
    args = real_args[0]
    with app.test_request_context():
        pages = _host_pages(rule, seed, args)
    found = _fields_for(app, client, rule, pages)
    # a changed action or template must not leave a route fuzzing no fields unnoticed
    assert found is not None or rule.endpoint in EXTRA_FIELDS, f"no form posts to it in {pages}"
    fields = found or {}
    for name, extra in EXTRA_FIELDS.get(rule.endpoint, {}).items():
        fields.setdefault(name, extra)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        url_args=_url_args(rule, real_args),
        form=_form(fields),
    )
    def post(url_args: dict[str, str], form: dict[str, Any]) -> None:
        _log_in(client, user_id)
        url = _url(rule, url_args) if url_args else rule.rule
        data: MultiDict[str, Any] = MultiDict()
        for name, value in form.items():
            for v in value if isinstance(value, list) else [value]:
                if v is not OMIT:
                    data.add(name, v)
        response = client.post(url, data=data)
        assert response.status_code < 500, (url, response.status_code)
        if response.status_code >= 400:
            assert response.mimetype == "text/html", (url, response.status_code)
            assert _says_why(response), (url, response.status_code, response.text[:2000])

    post()
