"""The notification list and the bell: open one (marked read), mark all read; and the optional
email of new items (on or off, and the address)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.auth.policy import authenticated
from app.db import transaction
from app.forms import fall_back
from app.notifications import email, service
from app.notifications.forms import EmailForm, ListForm

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@authenticated
def index() -> str:
    """The user's notifications, newest first: a kind and a reference each."""
    f = ListForm(request.args)
    fall_back(f)
    page = f.page.page
    audit.read(Action.NOTIFICATION_LIST, ObjectType.NOTIFICATION)
    with transaction():
        rows, total = service.shown(current_user, page)
    return render_template("notifications/index.html", rows=rows, total=total, page=page,
                           page_size=service.PAGE_SIZE, form=FlaskForm())


@bp.post("/<uuid:notification_id>/open")
@authenticated
def open_one(notification_id: uuid.UUID) -> Response:
    """Mark the notification read and go to its record (404 when it is not the user's, or its
    record is out of their reach: the same answer as for a record that does not exist)."""
    with transaction():
        url = service.open_one(current_user, notification_id)
        if url is not None:
            record(Action.NOTIFICATION_OPEN, object_type=ObjectType.NOTIFICATION,
                   object_id=notification_id)
    if url is None:
        audit.deny_404(Action.NOTIFICATION_OPEN, ObjectType.NOTIFICATION, notification_id)
    return redirect(url)


@bp.post("/read")
@authenticated
def read_all() -> Response:
    """Mark every notification of the user read."""
    with transaction():
        service.mark_all_read(current_user.id)
        record(Action.NOTIFICATIONS_READ, object_type=ObjectType.NOTIFICATION)
    flash(_("All notifications are marked as read."), "info")
    return redirect(url_for("notifications.index"))


@bp.route("/email", methods=["GET", "POST"])
@authenticated
def email_setting() -> str | Response:
    """Whether the user is emailed when there are new items, and at which address (only when
    this server can send email; otherwise the page says so and nothing changes)."""
    on = email.enabled()
    form = EmailForm()
    if on and form.validate_on_submit():
        with transaction():
            email.set_preference(current_user, wanted=bool(form.notify.data),
                                 address=form.address.data or None)
            turned_on = current_user.email_notify
            record(Action.NOTIFICATION_EMAIL_ON if turned_on else Action.NOTIFICATION_EMAIL_OFF,
                   object_type=ObjectType.USER, object_id=current_user.id)
        flash(_("You will get an email when there are new items.") if turned_on
              else _("You will not get email from Amana."), "info")
        return redirect(url_for("notifications.email_setting"))
    if request.method == "GET":
        audit.read(Action.NOTIFICATION_EMAIL_VIEW, ObjectType.USER, current_user.id)
        if on:
            with transaction():  # (the account-secrets key may be made on first use)
                address = email.address_of(current_user)
            form.notify.data = current_user.email_notify
            form.address.data = address or ""
    return render_template("notifications/email.html", form=form, on=on)
