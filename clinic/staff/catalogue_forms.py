"""Catalogue forms. They parse (whole numbers, choices); the ranges and cross-field rules are
the catalogue reader's (clinic/services/catalogue.py), applied by the service."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from clinic.form_checks import one_line, options
from clinic.models import RESTRICTION_KINDS
from clinic.services.clinical import record_templates
from clinic.services.world.course_wording import MONTH_NAMES, phototype_choice
from clinic.staff.forms import MultiCheckboxField

INT = "Give a whole number."
KIND_LABELS = {
    "sun": "Sun (clashes with declared sun exposure)",
    "makeup": "Makeup (clashes with declared events needing makeup)",
    "other": "Other",
}


class RestrictionForm(FlaskForm):
    code = StringField(
        "Code", validators=[InputRequired("Give a code, e.g. no_uv."), Length(max=60)]
    )
    text = StringField(
        "Text the client reads",
        validators=[InputRequired("Give the text the client reads."), Length(max=300)],
    )
    kind = SelectField(
        "Kind", choices=options((k, KIND_LABELS[k]) for k in RESTRICTION_KINDS), default="other"
    )
    preview = SubmitField("Preview the rule")
    submit = SubmitField("Save the restriction")

    def values(self) -> dict[str, Any]:
        return {"code": self.code.data or "", "text": self.text.data or "", "kind": self.kind.data}


class ProcedureForm(FlaskForm):
    code = StringField(
        "Code", validators=[InputRequired("Give a code, e.g. peel."), Length(max=60)]
    )
    name = StringField(
        "Name", validators=[InputRequired("Give the name."), Length(max=120), one_line]
    )
    duration_min = IntegerField(
        "Duration (minutes)", validators=[InputRequired("Give the duration in minutes.")]
    )
    buffer_min = IntegerField("Buffer after it (minutes)", validators=[Optional()], default=0)
    qualification = StringField(
        "Qualification needed",
        validators=[InputRequired("Give the qualification a practitioner needs."), Length(max=60)],
    )
    device_kind = SelectField("Device kind needed")
    blocked_by = MultiCheckboxField("Not while these restrictions are in force")
    price = StringField("Price (e.g. 85.00)", validators=[Optional(), Length(max=12)])
    # The patch test it needs before a course's first session (the file's `patch_test`).
    patch_test_procedure = SelectField("Patch test needed first", default="")
    patch_test_min_hours_before = IntegerField(
        "At least this many hours before the first session", validators=[Optional()]
    )
    patch_test_max_days_before = IntegerField(
        "At most this many days before the first session", validators=[Optional()]
    )
    record_fields = TextAreaField(
        "Treatment record fields", validators=[Optional(), Length(max=4000)]
    )
    preview = SubmitField("Preview the rule")
    submit = SubmitField("Save the procedure")

    def __init__(self, *args: Any, data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        test = (data or {}).get("patch_test")
        if data is not None and test:
            data = {**data} | {f"patch_test_{key}": value for key, value in test.items()}
        if data is not None and not isinstance(data.get("record_fields"), str | None):
            data = {**data, "record_fields": record_templates.as_lines(data["record_fields"])}
        super().__init__(*args, data=data, **kwargs)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code.data or "",
            "name": self.name.data or "",
            "duration_min": self.duration_min.data,
            "qualification": self.qualification.data or "",
            "device_kind": self.device_kind.data or None,
            "blocked_by": list(self.blocked_by.data or []),
        }
        if self.buffer_min.data is not None:
            out["buffer_min"] = self.buffer_min.data
        if self.price.data:
            out["price"] = self.price.data.strip()
        if self.patch_test_procedure.data:
            out["patch_test"] = {
                "procedure": self.patch_test_procedure.data,
                "min_hours_before": self.patch_test_min_hours_before.data,
                "max_days_before": self.patch_test_max_days_before.data,
            }
        lines = self.record_fields.data or ""
        out["record_fields"] = record_templates.from_lines(lines) if lines.strip() else None
        return out


class CareRowForm(Form):
    restriction = SelectField("Restriction", default="")
    hours = IntegerField("Hours", validators=[Optional()])


class ContraRowForm(Form):
    code = StringField("Condition code", validators=[Optional(), Length(max=60)])
    lookback_days = IntegerField("Look-back (days)", validators=[Optional()])


class CourseForm(FlaskForm):
    code = StringField(
        "Code", validators=[InputRequired("Give a code, e.g. peel_course."), Length(max=60)]
    )
    name = StringField(
        "Name", validators=[InputRequired("Give the name."), Length(max=120), one_line]
    )
    procedure = SelectField("Procedure", validators=[InputRequired("Choose the procedure.")])
    sessions = IntegerField(
        "Number of sessions", validators=[InputRequired("Give the number of sessions.")]
    )
    min_interval_days = IntegerField(
        "Minimum days between sessions", validators=[Optional()], default=0
    )
    max_interval_days = IntegerField(
        "Maximum days between sessions (empty: no maximum)", validators=[Optional()]
    )
    ideal_interval_days = IntegerField(
        "Ideal days between sessions (empty: as soon as allowed)", validators=[Optional()]
    )
    aftercare = FieldList(FormField(CareRowForm), min_entries=5, max_entries=20)
    precare = FieldList(FormField(CareRowForm), min_entries=3, max_entries=20)
    contraindications = FieldList(FormField(ContraRowForm), min_entries=4, max_entries=20)
    months = MultiCheckboxField(
        "Months in which sessions may take place",
        choices=options((i + 1, name) for i, name in enumerate(MONTH_NAMES)),
        coerce=int,
        default=list(range(1, 13)),
    )
    phototypes = MultiCheckboxField(
        "Skin types (Fitzpatrick) the course may treat",
        choices=options((p, phototype_choice(p)) for p in range(1, 7)),
        coerce=int,
        default=list(range(1, 7)),
    )
    preview = SubmitField("Preview the rule")
    submit = SubmitField("Save the course")

    def row_map(self) -> dict[str, list[int]]:
        """For each list, the form row index of each non-blank row (the file's index)."""
        return {
            "aftercare": [i for i, r in enumerate(self.aftercare) if r.form.restriction.data],
            "precare": [i for i, r in enumerate(self.precare) if r.form.restriction.data],
            "contraindications": [
                i for i, r in enumerate(self.contraindications) if (r.form.code.data or "").strip()
            ],
        }

    def values(self) -> dict[str, Any]:
        rows = self.row_map()
        out: dict[str, Any] = {
            "code": self.code.data or "",
            "name": self.name.data or "",
            "procedure": self.procedure.data or "",
            "sessions": self.sessions.data,
            "min_interval_days": self.min_interval_days.data or 0,
            "aftercare": [
                {
                    "restriction": self.aftercare[i].form.restriction.data,
                    "hours": self.aftercare[i].form.hours.data,
                }
                for i in rows["aftercare"]
            ],
            "precare": [
                {
                    "restriction": self.precare[i].form.restriction.data,
                    "hours": self.precare[i].form.hours.data,
                }
                for i in rows["precare"]
            ],
            "contraindications": [
                {
                    "code": (self.contraindications[i].form.code.data or "").strip(),
                    "lookback_days": self.contraindications[i].form.lookback_days.data or 0,
                }
                for i in rows["contraindications"]
            ],
        }
        if self.max_interval_days.data is not None:
            out["max_interval_days"] = self.max_interval_days.data
        if self.ideal_interval_days.data is not None:
            out["ideal_interval_days"] = self.ideal_interval_days.data
        months = sorted(set(self.months.data or []))
        if len(months) != 12:
            out["months"] = months
        phototypes = sorted(set(self.phototypes.data or []))
        if len(phototypes) != 6:
            out["phototypes"] = phototypes
        return out


class ConsentFormForm(FlaskForm):
    """A consent form of the catalogue (issue 21); a changed text is saved as a new version."""

    code = StringField(
        "Code", validators=[InputRequired("Give a code, e.g. peel_consent."), Length(max=60)]
    )
    title = StringField(
        "Title", validators=[InputRequired("Give the title."), Length(max=120), one_line]
    )
    text = TextAreaField(
        "Text the client reads and signs",
        validators=[InputRequired("Give the text the client signs.")],
        render_kw={"rows": 12},
    )
    valid_days = IntegerField(
        "A signature is valid for (days)",
        validators=[InputRequired("Give how many days a signature stays valid.")],
        default=365,
    )
    procedures = MultiCheckboxField("Procedures that need it signed")
    preview = SubmitField("Preview the rule")
    submit = SubmitField("Save the consent form")

    def values(self) -> dict[str, Any]:
        return {
            "code": self.code.data or "",
            "title": self.title.data or "",
            "text": self.text.data or "",
            "valid_days": self.valid_days.data,
            "procedures": list(self.procedures.data or []),
        }
