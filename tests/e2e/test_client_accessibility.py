"""axe-core on every client page, at phone size: no serious or critical violation."""

from __future__ import annotations

import re

import pytest

from tests.clock import next_monday
from tests.e2e.client_fixtures import client_live_server  # noqa: F401 - a fixture
from tests.e2e.conftest import screenshot
from tests.e2e.test_client_booking_flow import sign_up

pytestmark = pytest.mark.e2e
BLOCKING = ("serious", "critical")


def blocking_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} - "
        + "; ".join(n["target"][0] for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING
    ]


def test_client_pages_have_no_serious_accessibility_violations(client_live_server, phone) -> None:  # noqa: F811
    base, page = client_live_server.url, phone
    # The checker itself finds a missing alt text (critical), so an empty list below means
    # something.
    page.set_content("<!doctype html><html lang='en'><body><img src='x.png'></body></html>")
    assert any("image-alt" in v for v in blocking_violations(page))
    found: list[str] = []

    for path in ["/login", "/signup", "/password/forgot", "/courses"]:
        page.goto(base + path)
        found += blocking_violations(page)
    # A form refused with its messages next to the fields.
    page.goto(base + "/signup")
    page.get_by_role("button", name="Create my account").click()
    assert page.get_by_text("Give your email address.").is_visible()
    found += blocking_violations(page)

    sign_up(page, base, "axe@example.com")
    found += blocking_violations(page)  # the screening
    page.get_by_label("I confirm these answers are true and complete today.").check()
    page.get_by_role("button", name="Save and confirm").click()
    page.wait_for_url(re.compile(r"/courses"))
    found += blocking_violations(page)

    page.goto(base + "/my/periods")
    page.get_by_role("button", name="Add this period").click()
    found += blocking_violations(page)
    page.goto(base + "/profile")
    found += blocking_violations(page)

    page.goto(base + "/courses/peel_course/plan")
    found += blocking_violations(page)
    page.get_by_label("Earliest start").fill(next_monday(3).isoformat())
    page.get_by_role("button", name="Show proposed dates").click()
    page.wait_for_url(re.compile(r"/review"))
    found += blocking_violations(page)
    page.get_by_role("link", name="Choose another time for session 2").click()
    found += blocking_violations(page)
    page.go_back()
    page.get_by_role("button", name="Confirm and book").click()
    page.wait_for_url(re.compile(r"/my/sessions"))
    found += blocking_violations(page)
    page.get_by_role("link", name="Reschedule session 2").click()
    found += blocking_violations(page)
    page.goto(base + "/my/sessions")
    page.get_by_role("link", name="Cancel session 6").click()
    found += blocking_violations(page)
    screenshot(page, "client-05-cancel")

    assert found == []
