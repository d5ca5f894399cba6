"""What a line of text may hold: the one rule for names and other one-line text.

A name can reach an email header (a course's name in a confirmation's subject) and every
name is shown on one line: a line break would split a header or forge another one, a tab or
an escape sequence garbles what is shown, and PostgreSQL cannot store NUL. The catalogue
file's field checks, the forms and the API's schemas all ask `one_line_problem`.
"""

from __future__ import annotations

import re

# C0 and C1 control characters (NUL, tab, line feed, carriage return, escape...) and DEL; the
# Unicode line and paragraph separators; the bidirectional embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069), which make text read in another order than it is stored
# ("Anna\u202eeveR" reads as something else in every list, email and calendar), and the
# invisible direction marks U+200E, U+200F and U+061C, which make two names that look the same
# differ. No name needs them: a right-to-left name is written with its own letters.
_REFUSED = r"\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_NOT_ONE_LINE = re.compile(f"[{_REFUSED}]")
# The same rule as a pattern for a JSON schema (the API's OpenAPI document), which reads
# \uXXXX escapes as Python's `re` does.
PATTERN = f"^[^{_REFUSED}]*$"

CODE = "control_character"
MESSAGE = (
    "Use one line of plain text: no line breaks, tabs or other control or "
    "direction-changing characters."
)


def one_line_problem(value: str) -> str | None:
    """Why `value` cannot be a one-line text (a sentence for the user), or None if it can."""
    return MESSAGE if _NOT_ONE_LINE.search(value) else None


# A longer text of several lines (a consent form's): line feeds allowed, nothing else of the
# refused characters. Carriage returns are turned into line feeds before the check
# (`normalised_lines`), as a browser's form sends CRLF.
_REFUSED_IN_LINES = r"\u0000-\u0009\u000b-\u001f" + _REFUSED[len(r"\u0000-\u001f") :]
_NOT_LINES = re.compile(f"[{_REFUSED_IN_LINES}]")
LINES_MESSAGE = (
    "Use plain text in lines: no tabs or other control or direction-changing characters."
)


def normalised_lines(value: str) -> str:
    """A multi-line text with CRLF and CR as LF, and no trailing space at its ends."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def lines_problem(value: str) -> str | None:
    """Why `value` cannot be a text of several lines (a sentence), or None if it can."""
    return LINES_MESSAGE if _NOT_LINES.search(value) else None
