"""The consent gate (issue 21): a session needs each consent form of its procedure signed and
valid on its local date; clients are refused, staff book past it and it becomes a flag."""

from __future__ import annotations

import dataclasses

import pytest

from clinic.scheduling import ConsentNeed, SignedConsent, plan_course
from clinic.scheduling.rules import consent_violations, latest_day_consented

from .builders import NOW, PEEL_COURSE, TZ, check, client, codes, d, local_at, snapshot

NEED = ConsentNeed("peel_consent", "Chemical peel consent")
PEEL_NEEDING = dataclasses.replace(
    PEEL_COURSE, procedure=dataclasses.replace(PEEL_COURSE.procedure, consents=(NEED,))
)


def signed(on: str, until: str, version: int = 1, form: str = "peel_consent") -> SignedConsent:
    return SignedConsent(form, version, d(on), d(until))


def who(*consents: SignedConsent):
    return dataclasses.replace(client(), consents=consents)


@pytest.mark.parametrize(
    ("day", "consents", "refused"),
    [
        ("2026-02-02", (), True),  # never signed
        ("2026-02-02", (signed("2026-01-05", "2026-02-02"),), False),  # valid that very day
        ("2026-02-03", (signed("2026-01-05", "2026-02-02"),), True),  # the day after: expired
        ("2026-02-03", (signed("2026-02-03", "2026-03-03"),), False),  # signed that day
        ("2026-02-02", (signed("2026-02-03", "2026-03-03"),), True),  # signed only after it
        ("2026-02-02", (signed("2026-01-05", "2026-02-02", form="laser"),), True),  # another form
        # A signature of an older version still counts until it ends (docs/DECISIONS.md).
        ("2026-02-02", (signed("2026-01-05", "2026-02-02", version=1),), False),
        (
            "2026-02-03",
            (signed("2025-01-05", "2026-01-10", 1), signed("2026-01-20", "2026-02-20", 2)),
            False,
        ),
    ],
)
def test_a_signature_covers_the_sessions_from_its_day_to_its_end_included(
    day: str, consents: tuple[SignedConsent, ...], refused: bool
) -> None:
    found = consent_violations(
        session=1,
        start=local_at(d(day), 10),
        procedure=PEEL_NEEDING.procedure,
        consents=consents,
        tz=TZ,
    )
    assert [(v.code, v.form, v.staff_may_book) for v in found] == (
        [("consent_required", "peel_consent", True)] if refused else []
    )


def test_a_procedure_needing_no_consent_is_never_refused_for_it() -> None:
    assert (
        consent_violations(
            session=1,
            start=local_at(d("2026-02-02")),
            procedure=PEEL_COURSE.procedure,
            consents=(),
            tz=TZ,
        )
        == []
    )


def test_the_session_date_is_the_clinics_local_date() -> None:
    # 23:30 UTC on 2 Feb is already 3 Feb in Berlin: the day after the signature's end.
    late = local_at(d("2026-02-03"), 0, 30)
    assert late.astimezone(TZ).date() == d("2026-02-03")
    assert consent_violations(
        session=1,
        start=late,
        procedure=PEEL_NEEDING.procedure,
        consents=(signed("2026-01-05", "2026-02-02"),),
        tz=TZ,
    )


def test_latest_day_consented() -> None:
    consents = (signed("2026-01-05", "2026-02-02"),)
    assert latest_day_consented(PEEL_NEEDING.procedure, consents, d("2026-01-20")) == d(
        "2026-02-02"
    )
    assert latest_day_consented(PEEL_NEEDING.procedure, consents, d("2026-02-03")) is None
    assert latest_day_consented(PEEL_COURSE.procedure, (), d("2026-02-03")) == d("9999-12-31")


def test_the_checker_refuses_a_client_and_flags_for_staff() -> None:
    starts = (local_at(d("2026-01-19")), local_at(d("2026-02-02")), local_at(d("2026-02-16")))
    consent = who(signed("2026-01-05", "2026-02-02"))

    for_client = check(*starts, course=PEEL_NEEDING, who=consent, precare_confirmed=True)
    for_staff = check(
        *starts, course=PEEL_NEEDING, who=consent, by_staff=True, precare_confirmed=True
    )

    assert [(v.code, v.session) for v in for_client.violations] == [("consent_required", 3)]
    assert for_staff.ok and len(for_staff.slots) == 3
    assert [(v.code, v.session) for v in for_staff.flags] == [("consent_required", 3)]


def test_a_client_plan_is_refused_at_once_and_a_staff_plan_notes_it() -> None:
    kwargs = dict(snapshot=snapshot(), course=PEEL_NEEDING, earliest=d("2026-01-12"), now=NOW)
    refused = plan_course(client=who(), **kwargs)
    staff = plan_course(client=who(), by_staff=True, **kwargs)

    assert [v.code for v in refused.violations] == ["consent_required"]
    assert staff.ok and len(staff.slots) == 6
    assert [(n.code, n.session) for n in staff.notes] == [("consent_required", 1)]


def test_a_client_plan_stops_where_the_signature_ends() -> None:
    # Valid to 2 March: the six sessions (14 days apart at least) cannot all fit before it.
    consent = who(signed("2026-01-05", "2026-03-02"))
    plan = plan_course(
        snapshot=snapshot(), course=PEEL_NEEDING, client=consent, earliest=d("2026-01-12"), now=NOW
    )
    assert not plan.ok and "consent_required" in {v.code for v in plan.violations}
    longer = who(signed("2026-01-05", "2027-01-05"))
    assert plan_course(
        snapshot=snapshot(), course=PEEL_NEEDING, client=longer, earliest=d("2026-01-12"), now=NOW
    ).ok


def test_every_violation_reaches_the_json_with_its_form() -> None:
    result = check(
        local_at(d("2026-01-19")), course=PEEL_NEEDING, who=who(), precare_confirmed=True
    )
    assert codes(result) == {"consent_required"}
    assert result.violations[0].as_json()["form"] == "peel_consent"
