from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from clinic.auth import bp
from clinic.auth.forms import LoginForm
from clinic.services import accounts


def _home_for(user: object) -> str:
    role = getattr(user, "role", "client")
    return url_for("staff.index") if role != "client" else url_for("booking.courses")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = _home_for(user)
            return redirect(target)
        form.password.errors.append("Email or password is not right.")
        return render_template("auth/login.html", form=form), 422
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    return redirect(url_for("auth.login"))
