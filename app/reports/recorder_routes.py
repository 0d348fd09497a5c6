"""The Incident Recorder export page (programme managers only).

GET shows the form; POST checks it and a fresh second factor (the authenticator's code, or a
passkey through app/static/js/passkey.js), then answers with the file, or shows the form again
with the message beside the field (nothing exported). The code typed is never shown back.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.auth import passkeys
from app.auth.policy import Permission, require
from app.i18n import RTL_LANGUAGES, select_locale
from app.localtime import today, user_zone
from app.reports import recorder
from app.reports.recorder_export import RecorderRefused, export
from app.reports.recorder_forms import RecorderForm

bp = Blueprint("recorder", __name__, url_prefix="/statistics/recorder")


@bp.route("", methods=["GET", "POST"])
@require(Permission.STATS_RECORDER_EXPORT)
def download() -> str | BaseResponse:
    """The form, and the file once the form and a fresh code or passkey are accepted."""
    form = RecorderForm()
    form.offer_years(today(user_zone()).year)
    if request.method == "POST" and form.validate_on_submit():
        try:
            file = export(current_user, form.request(),
                          rtl=select_locale() in RTL_LANGUAGES)
        except RecorderRefused as refused:
            if refused.session_ended:
                flash(str(refused.message), "error")
                return redirect(url_for("auth.login"))
            getattr(form, refused.field).errors = [str(refused.message)]
        else:
            return Response(file.body, mimetype=file.mimetype, headers={
                "Content-Disposition": f'attachment; filename="{file.filename}"',
                "Cache-Control": "no-store"})
    form.code.data = form.passkey.data = ""  # typed or signed afresh each time, never kept
    return render_template("reports/recorder.html", form=form, caveat=recorder.CAVEAT,
                           codes_allowed=passkeys.codes_allowed(current_user),
                           passkey_options=passkeys.sign_options(current_user))
