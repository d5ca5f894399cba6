"""The catalogue file (API.md): a clinic's whole set-up, imported and exported as one file.

- `apply`: check a file against itself and the database, then write it (upsert by code/email).

Callers use the names below (`from clinic.services import catalogue`).
"""

from clinic.services.catalogue.apply import (
    SECTIONS,
    WEEKDAYS,
    ImportReport,
    SectionCount,
    course_entry,
    export_catalogue,
    import_catalogue,
    import_into,
)

__all__ = [
    "SECTIONS",
    "WEEKDAYS",
    "ImportReport",
    "SectionCount",
    "course_entry",
    "export_catalogue",
    "import_catalogue",
    "import_into",
]
