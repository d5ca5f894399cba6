"""The client's message choices through the link in every email (no login; a signed token),
with RFC 8058's one-click unsubscribe. The profile's form of the same choices is `routes`."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clinic.auth import bp
from clinic.auth.forms import MessageChoicesForm
from clinic.extensions import csrf
from clinic.form_errors import Problem, place_errors
from clinic.services.core.errors import InvalidRequest, ServiceError
from clinic.services.people import message_choices

SAVED = "Your message choices are saved."


def texts_offered() -> bool:
    """The clinic sends texts only with a gateway configured (README "Messages")."""
    return bool(current_app.config.get("SMS_GATEWAY_URL"))


def choices_link(client_id: int) -> str:
    token = message_choices.choices_token(client_id, current_app.config["SECRET_KEY"])
    return url_for("auth.message_choices_by_link", token=token, _external=True)


def unsubscribe_link(client_id: int, topic: str) -> str:
    token = message_choices.choices_token(client_id, current_app.config["SECRET_KEY"])
    return url_for("auth.unsubscribe", token=token, topic=topic, _external=True)


@bp.route("/messages/choices/<token>", methods=["GET", "POST"])
def message_choices_by_link(token: str) -> ResponseReturnValue:
    secret = current_app.config["SECRET_KEY"]
    try:
        client = message_choices.client_for_token(token, secret)
    except InvalidRequest as exc:
        return render_template(
            "error.html", title="Link not valid", message=exc.message, code=404
        ), 404
    form = MessageChoicesForm()
    top: list[Problem] = []
    if request.method == "GET":
        form.fill(message_choices.choices_of(client))
    elif form.validate_on_submit():
        try:
            message_choices.set_message_choices_by_link(
                token=token, secret=secret, choices=form.choices(texts_offered())
            )
        except ServiceError as exc:
            top = place_errors(form, exc)
        else:
            flash(SAVED, "success")
            return redirect(url_for("auth.message_choices_by_link", token=token))
    status = 422 if form.errors or top else 200
    return render_template(
        "auth/message_choices.html",
        form=form,
        top_errors=top,
        texts_offered=texts_offered(),
        client=client,
    ), status


@bp.route(
    "/messages/unsubscribe/<token>/<any(reminders, care, changes):topic>", methods=["GET", "POST"]
)
def unsubscribe(token: str, topic: str) -> ResponseReturnValue:
    """POST: switch this topic's emails off at once (one-click). GET (someone opened the
    address, or a link scanner did): change nothing; a page with the button that does."""
    if request.method == "GET":
        try:
            message_choices.client_for_token(token, current_app.config["SECRET_KEY"])
        except InvalidRequest as exc:
            return render_template(
                "error.html", title="Link not valid", message=exc.message, code=404
            ), 404
        return render_template(
            "auth/unsubscribe.html",
            topic=message_choices.TOPIC_NAMES[topic],
            link=url_for("auth.message_choices_by_link", token=token),
        )
    try:
        message_choices.unsubscribe(
            token=token, secret=current_app.config["SECRET_KEY"], topic=topic
        )
    except InvalidRequest as exc:
        return render_template(
            "error.html", title="Not switched off", message=exc.message, code=400
        ), 400
    return render_template(
        "auth/unsubscribed.html",
        topic=message_choices.TOPIC_NAMES[topic],
        link=url_for("auth.message_choices_by_link", token=token),
    )


# RFC 8058: the mail provider POSTs "List-Unsubscribe=One-Click", with no cookie and no form.
csrf.exempt(unsubscribe)
