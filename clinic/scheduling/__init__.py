"""The scheduling engine: the clinic's rules as pure functions over plain values.

Standard library only; no clock, no configuration, no I/O. Everything it needs arrives as
arguments, `now` and the time zone included.
"""

from clinic.scheduling.aftercare import aftercare_calendar, care_stretches, describe_window
from clinic.scheduling.book import ResourceBook
from clinic.scheduling.check import check_course
from clinic.scheduling.offers import DayOffer, offer_day
from clinic.scheduling.planner import plan_course, plan_with_patch_test
from clinic.scheduling.replan import Replan, minimal_replan
from clinic.scheduling.resources import DayResources, Snapshot, available_slots
from clinic.scheduling.rules import care_windows, precare_violation
from clinic.scheduling.types import (
    PHOTOTYPES,
    BookedSession,
    CareRule,
    CareStretch,
    CareWindow,
    CheckResult,
    ClientState,
    ClinicRules,
    ConditionState,
    ConsentNeed,
    ContraRule,
    CourseRules,
    DeclaredPeriod,
    Equipment,
    Occupancy,
    PatchTestRule,
    PlanResult,
    PractitionerCalendar,
    Preferences,
    ProcedureRules,
    ProposedSession,
    SignedConsent,
    Slot,
    TimeRange,
    Violation,
    interned,
)

__all__ = [
    "BookedSession",
    "CareRule",
    "CareStretch",
    "CareWindow",
    "CheckResult",
    "ClientState",
    "ClinicRules",
    "ConditionState",
    "ConsentNeed",
    "ContraRule",
    "CourseRules",
    "DayOffer",
    "DayResources",
    "DeclaredPeriod",
    "Equipment",
    "Occupancy",
    "PHOTOTYPES",
    "PatchTestRule",
    "PlanResult",
    "PractitionerCalendar",
    "Replan",
    "Preferences",
    "ProcedureRules",
    "ProposedSession",
    "ResourceBook",
    "SignedConsent",
    "Slot",
    "Snapshot",
    "TimeRange",
    "Violation",
    "aftercare_calendar",
    "care_stretches",
    "available_slots",
    "care_windows",
    "check_course",
    "precare_violation",
    "describe_window",
    "interned",
    "minimal_replan",
    "offer_day",
    "plan_course",
    "plan_with_patch_test",
]
