"""The booking services' test suite, run again on PostgreSQL.

Importing the tests collects them here too, where this folder's `app` fixture puts them on
the throw-away PostgreSQL server instead of SQLite: the same behaviour on both databases.
"""

from __future__ import annotations

import pytest

from tests.services.test_booking import *  # noqa: F403

pytestmark = pytest.mark.pg
