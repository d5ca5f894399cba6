"""Forms of the treatment record, photos, photo consent and pushing a course: shape only (the
services check the template's values and who may do what)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from clinic.form_checks import options
from clinic.models import PHOTO_KINDS
from clinic.services.clinical.records import Product, RecordInput
from clinic.services.clinical.records_wording import REACTION_LABELS

PREFIX = "t_"  # template fields: `t_fluence`, apart from the form's own fields


class _RecordForm(FlaskForm):
    areas = TextAreaField("Areas treated", validators=[Optional(), Length(max=2000)])
    products = TextAreaField(
        "Products used, one a line: name, batch number",
        validators=[Optional(), Length(max=2000)],
    )
    reaction = RadioField(
        "The skin's reaction",
        choices=options((str(k), v) for k, v in REACTION_LABELS.items()),
        validators=[Optional()],
    )
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])
    save = SubmitField("Save the draft")
    sign = SubmitField("Sign off")

    def validate_products(self, field: Field) -> None:
        for number, line in enumerate((field.data or "").splitlines(), start=1):
            if line.strip() and ("," not in line or not line.rsplit(",", 1)[1].strip()):
                raise ValidationError(
                    f"Line {number}: give the product and its batch number, "
                    "separated by a comma (Glycolic 35%, LOT-2211)."
                )

    def template_fields(self) -> list[tuple[dict[str, Any], Field]]:
        spec: list[dict[str, Any]] = getattr(self, "_template", [])
        return [(f, self[PREFIX + f["code"]]) for f in spec]

    def entry(self) -> RecordInput:
        products = tuple(
            Product(*(part.strip() for part in line.rsplit(",", 1)))
            for line in (self.products.data or "").splitlines()
            if line.strip()
        )
        reaction = self.reaction.data
        return RecordInput(
            values={f["code"]: str(field.data or "") for f, field in self.template_fields()},
            areas=self.areas.data or "",
            products=products,
            reaction=int(reaction) if reaction not in (None, "", "None") else None,
            notes=self.notes.data or "",
        )


def record_form(template: list[dict[str, Any]], **kwargs: Any) -> _RecordForm:
    """The record form for a template: one field per template field, then the common ones."""

    class RecordForm(_RecordForm):
        pass

    for spec in template:
        label = spec["label"] + (f" ({spec['unit']})" if spec.get("unit") else "")
        field: Any
        if spec["kind"] == "choice":
            field = SelectField(
                label,
                choices=options([("", "—"), *((c, c) for c in spec["choices"])]),
                validators=[Optional()],
            )
        else:
            field = StringField(label, validators=[Optional(), Length(max=200)])
        setattr(RecordForm, PREFIX + spec["code"], field)
    form = RecordForm(**kwargs)
    form._template = template
    return form


class PhotoForm(FlaskForm):
    # A phone opens its camera; a desk computer its files.
    photo = FileField(
        "Photo",
        validators=[FileRequired("Choose or take a photo.")],
        render_kw={"accept": "image/*", "capture": "environment"},
    )
    kind = SelectField(
        "Before or after the session",
        choices=options((k, k.capitalize()) for k in PHOTO_KINDS),
        default="before",
    )
    submit = SubmitField("Add the photo")


class PhotoConsentForm(FlaskForm):
    may_take = BooleanField("The client agrees to before/after photos of their treatment")
    may_show_client = BooleanField("The client wants to see their photos on My sessions")
    submit = SubmitField("Save the photo consent")


class PushForm(FlaskForm):
    days = IntegerField(
        "Push the rest of the course by (days)",
        validators=[
            InputRequired("Give a number of days."),
            NumberRange(1, 365, "Push by 1 to 365 days."),
        ],
        default=14,
    )
    submit = SubmitField("Push the rest of the course")
