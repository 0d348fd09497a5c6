"""Single sign-on administration (on the ``admin`` blueprint): an organisation's settings, and
linking an account to its subject at the provider or removing the link.

Linking gives a way into an account and turning single sign-on on (or trusting the provider's
second factor) opens one for a whole organisation: both are dangerous actions (``@step_up``).
Removing a link takes access away and never waits. A link to an account that reads case data
or approves access also waits for a second admin's approval, like a password reset.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import grants
from app.admin.routes import _load_directory, _load_user, bp
from app.admin.sso_forms import SsoSettingsForm, SubjectForm
from app.audit.actions import Action, ObjectType
from app.auth import oidc, oidc_service
from app.auth.forms import ActionForm
from app.auth.policy import Permission, require
from app.auth.stepup import step_up
from app.directory.service import DirectoryStale


@bp.route("/directory/organisation/<uuid:record_id>/sso", methods=["GET", "POST"])
@require(Permission.ADMIN_DIRECTORY)
@step_up
def organisation_sso(record_id: uuid.UUID) -> str | Response:
    """An organisation's single sign-on settings."""
    org = _load_directory(ObjectType.ORGANISATION, record_id)
    current = oidc_service.settings_of(org.id)
    form = SsoSettingsForm(obj=current if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = str(current.version) if current else "0"
    elif form.validate_on_submit():
        wanted = oidc_service.SsoSettings(
            enabled=bool(form.enabled.data), trust_mfa=bool(form.trust_mfa.data),
            mfa_amr=form.mfa_amr.data or "", mfa_acr=form.mfa_acr.data or "")
        try:
            oidc_service.save_settings(org, wanted, expected_version=form.version.data)
        except DirectoryStale as exc:
            flash(str(exc), "error")
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("admin.organisation_sso", record_id=org.id))
    return render_template("admin/sso.html", form=form, organisation=org,
                           configured=oidc.configured(), issuer=oidc.issuer()
                           if oidc.configured() else None)


@bp.post("/users/<uuid:user_id>/sso")
@require(Permission.ADMIN_USERS)
@step_up
def user_sso_link(user_id: uuid.UUID) -> Response:
    """Link an account to its subject at the provider."""
    user = _load_user(user_id, Action.USER_SSO_LINK)
    form = SubjectForm()
    if not form.validate_on_submit():
        flash(str(oidc_service.SUBJECT_INVALID), "error")
    else:
        # A link to an account that reads case data or approves access is a credential, as a
        # password reset is: it waits for a second admin (two-person rule, app/admin/grants.py).
        second = grants.credential_reset_needs_approval(user)
        try:
            if second and user.id == current_user.id:
                raise grants.GrantError(_("You cannot link your own account: another admin "
                                          "links it, and a third approves."))
            oidc_service.link(current_user, user, form.subject.data, approved=not second)
            if second:
                grants.request_credential_reset(current_user, user, "sso_link")
        except (oidc_service.SsoError, grants.GrantError) as exc:
            flash(str(exc), "error")
        else:
            flash(_("Linked. A second admin must approve it under Access approvals before "
                    "the account can sign in with it.") if second else
                  _("Linked: this account may now sign in with single sign-on, if its "
                    "organisation allows it."), "info")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<uuid:user_id>/sso/unlink")
@require(Permission.ADMIN_USERS)
def user_sso_unlink(user_id: uuid.UUID) -> Response:
    """Remove an account's link to a subject (taking access away never waits)."""
    user = _load_user(user_id, Action.USER_SSO_UNLINK)
    if not ActionForm().validate_on_submit():
        abort(400)
    if oidc_service.unlink(user):
        flash(_("The single sign-on link is removed."), "info")
    return redirect(url_for("admin.user_edit", user_id=user.id))


bp.add_app_template_global(oidc_service.identity_of, "sso_identity")
bp.add_app_template_global(SubjectForm, "sso_subject_form")
