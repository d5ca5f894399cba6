from collections.abc import Sequence

from flask import Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from clinic.auth import bp
from clinic.auth.access import current_actor, login_required, permission_required, safe_next
from clinic.auth.forms import (
    ChangePasswordForm,
    EraseForm,
    ForgotPasswordForm,
    LoginForm,
    MessageChoicesForm,
    ProfileForm,
    ResetPasswordForm,
    SignUpForm,
)
from clinic.auth.message_routes import SAVED, texts_offered
from clinic.extensions import limiter
from clinic.form_errors import Problem, place_errors
from clinic.security import current_login, forget_login, sign_in, sign_out
from clinic.services.core import permissions
from clinic.services.core.errors import ServiceError
from clinic.services.core.permissions import is_staff
from clinic.services.people import (
    accounts,
    calendar_feed,
    clients,
    logins,
    message_choices,
    passwords,
    privacy,
)
from clinic.services.world import screening


def _home_for(user: object) -> str:
    return url_for("staff.index") if is_staff(user) else url_for("booking.my_sessions")


def _status(form: FlaskForm, top: Sequence[object] = ()) -> int:
    return 422 if form.errors or top else 200


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    "10 per minute",
    methods=["POST"],
    error_message="Too many login attempts from your address. Please wait a minute and try again.",
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            sign_in(user)
            return redirect(safe_next(_home_for(user)))
        form.password.errors = [*form.password.errors, "Email or password is not right."]
        return render_template("auth/login.html", form=form), 422
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    sign_out()
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = SignUpForm()
    top: list[Problem] = []
    if form.validate_on_submit():
        try:
            user = clients.sign_up(
                email=form.email.data or "",
                name=form.name.data or "",
                password=form.password.data or "",
            )
        except ServiceError as exc:
            top = place_errors(form, exc)
        else:
            sign_in(user)
            flash("Welcome! Please answer a few health questions before you book.", "success")
            return redirect(url_for("booking.screening"))
    return render_template("auth/signup.html", form=form, top_errors=top), _status(form, top)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        passwords.request_password_reset(
            email=form.email.data or "",
            secret=current_app.config["SECRET_KEY"],
            link_for=lambda token: url_for("auth.reset_password", token=token, _external=True),
        )
        return render_template("auth/forgot_password.html", form=form, sent=True)
    return render_template("auth/forgot_password.html", form=form, sent=False), _status(form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    secret = current_app.config["SECRET_KEY"]
    form = ResetPasswordForm()
    top: list[Problem] = []
    try:
        passwords.user_for_token(token, secret)
    except ServiceError as exc:
        return render_template("auth/reset_password.html", form=None, top_errors=[exc.message]), 400
    if form.validate_on_submit():
        try:
            passwords.reset_password(token=token, password=form.password.data or "", secret=secret)
        except ServiceError as exc:
            top = place_errors(form, exc)
        else:
            # The reset ended every login of the account; this browser's, if it was logged
            # in (as anyone), is forgotten too.
            if current_user.is_authenticated:
                sign_out()
            flash("Your password is changed; please log in with it.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, top_errors=top), _status(
        form, top
    )


@bp.route("/password/change", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """A new password, given the current one: every other session and API token of the
    account ends; this one stays."""
    form = ChangePasswordForm()
    top: list[Problem] = []
    if form.validate_on_submit():
        try:
            passwords.change_password(
                user_id=current_user.id,
                current=form.current.data or "",
                password=form.password.data or "",
                keep_login=current_login(),
            )
        except ServiceError as exc:
            top = place_errors(form, exc)
        else:
            flash(
                "Your password is changed; you are logged out everywhere else, "
                "and API tokens issued before have ended.",
                "success",
            )
            return redirect(_home_for(current_user))
    return render_template("auth/change_password.html", form=form, top_errors=top), _status(
        form, top
    )


@bp.route("/profile", methods=["GET", "POST"])
@login_required
@permission_required(permissions.is_client)
def profile() -> ResponseReturnValue:
    actor = current_actor()
    client = clients.get_client(actor=actor)
    form = ProfileForm(obj=None if request.method == "POST" else client)
    top: list[Problem] = []
    if form.validate_on_submit():
        try:
            clients.update_profile(
                actor=actor, name=form.name.data or "", phone=form.phone.data or ""
            )
        except ServiceError as exc:
            top = place_errors(form, exc)
        else:
            flash("Saved.", "success")
            return redirect(url_for("auth.profile"))
    return _profile_page(form=form, top=top)


@bp.route("/profile/messages", methods=["POST"])
@login_required
@permission_required(permissions.is_client)
def save_message_choices() -> ResponseReturnValue:
    """The profile's message choices (`message_routes` has the same through an email's link)."""
    form = MessageChoicesForm()
    top: list[Problem] = []
    if form.validate_on_submit():
        try:
            message_choices.set_message_choices(
                actor=current_actor(), choices=form.choices(texts_offered())
            )
        except ServiceError as exc:
            top = place_errors(form, exc)
        else:
            flash(SAVED, "success")
            return redirect(url_for("auth.profile") + "#messages")
    return _profile_page(messages_form=form, messages_top=top)


def _profile_page(
    *,
    form: ProfileForm | None = None,
    top: Sequence[Problem] = (),
    messages_form: MessageChoicesForm | None = None,
    messages_top: Sequence[Problem] = (),
    feed_url: str | None = None,
) -> ResponseReturnValue:
    actor = current_actor()
    client = clients.get_client(actor=actor)
    if form is None:
        form = ProfileForm(obj=client, formdata=None)
    if messages_form is None:
        messages_form = MessageChoicesForm(formdata=None)
        messages_form.fill(message_choices.get_message_choices(actor=actor))
    failed = bool(form.errors or top or messages_form.errors or messages_top)
    return render_template(
        "auth/profile.html",
        form=form,
        client=client,
        status=screening.screening_status(client),
        top_errors=top,
        has_feed=calendar_feed.has_calendar_feed(actor=actor),
        feed_url=feed_url,
        messages_form=messages_form,
        messages_top=messages_top,
        texts_offered=texts_offered(),
    ), (422 if failed else 200)


@bp.route("/profile/calendar-feed", methods=["POST"])
@login_required
@permission_required(permissions.is_client)
def issue_calendar_feed() -> ResponseReturnValue:
    """A new secret address of my calendar feed (any earlier one stops working), shown once:
    the page answers directly, so the secret is in no redirect, cookie or log."""
    token = calendar_feed.issue_calendar_feed(actor=current_actor())
    url = url_for("booking.calendar_feed", token=token, _external=True)
    return _profile_page(feed_url=url)


@bp.route("/profile/calendar-feed/revoke", methods=["POST"])
@login_required
@permission_required(permissions.is_client)
def revoke_calendar_feed() -> ResponseReturnValue:
    calendar_feed.revoke_calendar_feed(actor=current_actor())
    flash("Your calendar feed is off: its address no longer works.", "success")
    return redirect(url_for("auth.profile"))


@bp.route("/profile/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere() -> ResponseReturnValue:
    """End every login (this browser's too) and every API token of my account: a phone lost,
    a computer shared."""
    logins.end_own_logins(actor=current_actor())
    forget_login()
    flash(
        "You are logged out everywhere: on every device, and API tokens issued before have "
        "ended. Please log in again.",
        "success",
    )
    return redirect(url_for("auth.login"))


@bp.route("/profile/data.json")
@login_required
@permission_required(permissions.is_client)
def export_data() -> ResponseReturnValue:
    """Everything the clinic holds about me, as a JSON download."""
    data = privacy.export_client_data(actor=current_actor())
    response: Response = jsonify(data)
    response.headers["Content-Disposition"] = 'attachment; filename="my-clinic-data.json"'
    return response


@bp.route("/profile/erase", methods=["GET", "POST"])
@login_required
@permission_required(permissions.is_client)
def erase() -> ResponseReturnValue:
    """Erase my data: the person is anonymised, the clinic keeps an anonymous history."""
    form = EraseForm()
    if form.validate_on_submit():
        if accounts.authenticate(current_user.email, form.password.data or "") is None:
            form.password.errors = [*form.password.errors, "The password is not right."]
        else:
            privacy.erase_client(actor=current_actor())
            sign_out()
            flash("Your data has been erased. Thank you for having been our client.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/erase.html", form=form), 422 if form.errors else 200
