"""A client's own before/after photos, side by side across a course: shown when the client
agreed to see them and the clinic's policy shows photos to clients."""

from __future__ import annotations

from flask import Response, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clinic.booking import bp
from clinic.booking.common import client_only, current_actor
from clinic.photo_pages import NO_STORE, side_by_side
from clinic.services.clinical import photos, records


@bp.route("/my/enrolments/<int:enrolment_id>/photos")
@client_only
def my_photos(enrolment_id: int) -> ResponseReturnValue:
    enrolment, sessions = records.course_photos(actor=current_actor(), enrolment_id=enrolment_id)
    left, right = side_by_side(sessions)
    return render_template(
        "booking/my_photos.html",
        enrolment=enrolment,
        sessions=sessions,
        left=left,
        right=right,
        photo_url=lambda p, size: url_for("booking.my_photo", photo_id=p.id, size=size),
    )


@bp.route("/my/photos/<int:photo_id>")
@client_only
def my_photo(photo_id: int) -> ResponseReturnValue:
    size = "thumb" if request.args.get("size") == "thumb" else "screen"
    data, content_type = photos.get_photo_image(actor=current_actor(), photo_id=photo_id, size=size)
    return Response(data, mimetype=content_type, headers=NO_STORE)


@bp.app_context_processor
def my_photo_links() -> dict[str, object]:
    """`sees_photos(client_id)` for My sessions' link to a course's photos."""
    return {"sees_photos": photos.client_sees_photos}
