"""Logins that end (issue 19, defect 12), run again on PostgreSQL: the ages judged in SQL,
deactivation, "log out everywhere" and `logins prune` behave the same on both databases.

Importing the tests collects them here too, where this folder's `app` fixture puts them on
the throw-away PostgreSQL server instead of SQLite.
"""

from __future__ import annotations

import pytest

from tests.services.test_logins import *  # noqa: F403
from tests.test_cli_logins import *  # noqa: F403
from tests.web.test_logins_end import *  # noqa: F403

pytestmark = pytest.mark.pg
