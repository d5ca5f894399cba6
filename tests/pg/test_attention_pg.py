"""The attention list's service tests, run again on PostgreSQL (see test_services_pg.py)."""

from __future__ import annotations

import pytest

from tests.services.test_attention_list import *  # noqa: F403

pytestmark = pytest.mark.pg

# That one reads SQLite's EXPLAIN QUERY PLAN; PostgreSQL plans from its own statistics.
del test_reading_flags_walks_the_flags_not_the_appointments  # noqa: F821
