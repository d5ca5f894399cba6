"""The catalogue file (API.md): a clinic's whole set-up, imported and exported as one file.

- `fields`: what one value may be (a code, a number in a range, a week of hours).
- `schema`: the file's bytes as JSON (`read_file`), then as pydantic models; every error with
  its JSON path and a sentence.
- `apply`: check a file against the database too, then write it and report.
- `write`: the writing itself (upsert by code/email); `report`: what an import did.
- `export`: the database as a file that re-imports to the same state.

Callers use the names below (`from clinic.services import catalogue`).
"""

from clinic.services.catalogue.apply import import_catalogue, import_into
from clinic.services.catalogue.export import (
    consent_form_entry,
    course_entry,
    export_catalogue,
    patch_test_entry,
)
from clinic.services.catalogue.fields import WEEKDAYS
from clinic.services.catalogue.report import ImportReport, SectionCount
from clinic.services.catalogue.schema import MAX_FILE_BYTES, SECTIONS, read_file

__all__ = [
    "MAX_FILE_BYTES",
    "SECTIONS",
    "WEEKDAYS",
    "ImportReport",
    "SectionCount",
    "consent_form_entry",
    "course_entry",
    "patch_test_entry",
    "export_catalogue",
    "import_catalogue",
    "import_into",
    "read_file",
]
