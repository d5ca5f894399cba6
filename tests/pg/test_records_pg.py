"""The treatment records' service tests, run again on PostgreSQL (records, photos in the
database store, the review flag and the push)."""

from __future__ import annotations

import pytest

from tests.services.test_treatment_records import *  # noqa: F403

pytestmark = pytest.mark.pg
