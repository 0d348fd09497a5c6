"""An organisation's confidentiality pledge, for its admins: the version in force and who
has accepted it, and publishing a new version (on the admin blueprint)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import forms, queries
from app.admin.routes import bp
from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, require
from app.directory import service as directory_service
from app.forms import fall_back, parse_whole
from app.submissions.service import AlreadySaved, already_saved

# --- The organisation's confidentiality pledge ---------------------------------------------------
# An admin publishes and follows the pledge of their own organisation only.

@bp.get("/pledge")
@require(Permission.ADMIN_DIRECTORY)
def pledge() -> str:
    """The current version of the organisation's pledge, and who has accepted it (and when)
    and who has not yet, among its active accounts, fifty a page."""
    org = current_user.organisation
    current, publisher = queries.current_pledge(org)
    f = forms.PledgeListForm(request.args)
    fall_back(f)
    page = f.page.page
    rows: list[Any] = []
    total = accepted = 0
    if current is not None:
        rows, total, accepted = queries.pledge_page(org.id, current.id, page)
    audit.read(Action.PLEDGE_VIEW, ObjectType.PLEDGE, current.id if current else None)
    return render_template("admin/pledge.html", organisation=org, pledge=current, rows=rows,
                           total=total, accepted=accepted, page=page, filters=f,
                           page_size=queries.PAGE_SIZE, publisher=publisher)


@bp.route("/pledge/new", methods=["GET", "POST"])
@require(Permission.ADMIN_DIRECTORY)
def pledge_publish() -> str | Response:
    """Write and publish a new version of the organisation's pledge (the current one is the
    starting text: a correction is a new version)."""
    org = current_user.organisation
    form = forms.PledgeForm()
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("admin.pledge"))
    if request.method == "GET":
        current = directory_service.current_pledge(org)
        audit.read(Action.PLEDGE_VIEW, ObjectType.PLEDGE, current.id if current else None)
        form.after.data = str(org.pledge_number or "")
        if current is not None:
            form.text_en.data, form.text_ar.data = current.text_en, current.text_ar or ""
    elif form.validate_on_submit():
        try:
            published = directory_service.publish_pledge(
                org, form.text_en.data, form.text_ar.data,
                after=parse_whole(form.after.data, 1, 10**9), actor_id=current_user.id,
                submission=form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("admin.pledge"))
        except directory_service.PledgeError as exc:
            if exc.field is None:
                flash(str(exc), "error")
            else:
                getattr(form, exc.field).errors.append(str(exc))
        except directory_service.DirectoryStale as exc:
            flash(str(exc), "error")
        else:
            flash(_("Version %(n)d is published: every account of the organisation accepts it "
                    "before its next page.", n=published.number), "info")
            return redirect(url_for("admin.pledge"))
    return render_template("admin/pledge_form.html", form=form, organisation=org)
