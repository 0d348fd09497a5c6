"""Administration screens: accounts and the directory. Admins never reach case data: the
policy grants them no case, referral or WGSS-note permission, whatever links exist.

The loaders of an account, a directory record and a pending grant record a GET of what they
found (``user.view``, ``directory.view``) before any page shows it, and a missing id as the
attempted action denied (``not_found``) before answering 404.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from app.admin import forms, grants, queries
from app.admin import service as svc
from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth import service as auth_service
from app.auth.forms import ActionForm
from app.auth.models import User
from app.auth.policy import Permission, require
from app.auth.stepup import step_up
from app.core.ids import parse_uuid
from app.db import db
from app.directory import service as directory_service
from app.directory.models import Organisation, SafeSpace, Service, Site
from app.directory.queries import all_of, everything
from app.forms import fall_back
from app.submissions.service import AlreadySaved, already_saved

bp = Blueprint("admin", __name__, url_prefix="/admin")


NOT_FOUND = "not_found"


def _load(model: type, record_id: uuid.UUID) -> Any:
    """A record a form names (an organisation, site, safe space or service chosen), or 404."""
    obj = db.session.get(model, record_id)
    if obj is None:
        abort(404)
    return obj


def _load_user(user_id: uuid.UUID, change: Action) -> User:
    """An account (a GET recorded as ``user.view``), or 404 recorded as denied: ``user.view``
    for a GET, the ``change`` a POST attempts otherwise."""
    reading = request.method == "GET"
    user = db.session.get(User, user_id)
    if user is None:
        audit.deny_404(Action.USER_VIEW if reading else change, ObjectType.USER, user_id,
                       reason=NOT_FOUND)
    if reading:
        audit.read(Action.USER_VIEW, ObjectType.USER, user.id)
    return user


def _load_directory(kind: ObjectType, record_id: uuid.UUID) -> Any:
    """A directory record (a GET recorded as ``directory.view``), or 404 recorded as denied:
    ``directory.view`` for a GET, the kind's update action otherwise."""
    reading = request.method == "GET"
    model, _form, _create, update = KINDS[kind]
    obj = db.session.get(model, record_id)
    if obj is None:
        audit.deny_404(Action.DIRECTORY_VIEW if reading else update, kind, record_id,
                       reason=NOT_FOUND)
    if reading:
        audit.read(Action.DIRECTORY_VIEW, kind, obj.id)
    return obj


def _fill_user_choices(form: forms.UserForm) -> None:
    form.organisation.choices = [(str(o.id), o.name) for o in all_of(Organisation)]
    form.sites.choices = [(str(s.id), f"{s.name} ({s.organisation.name})") for s in all_of(Site)]
    form.safe_spaces.choices = [(str(s.id), s.name) for s in all_of(SafeSpace)]
    form.service.choices = [("", _("None"))] + [
        (str(s.id), f"{s.name} ({s.organisation.name})") for s in all_of(Service)]


def _ids(values: list[str] | None) -> list[uuid.UUID]:
    out = []
    for v in values or []:
        found = parse_uuid(v)
        if found is None:
            abort(400)
        out.append(found)
    return out


def _spec(form: forms.UserForm) -> svc.AccountSpec:
    org = _load(Organisation, _ids([form.organisation.data or ""])[0])
    return svc.AccountSpec(
        username=form.username.data or "", display_name=form.display_name.data or "",
        role=form.role.data or "", organisation=org,
        sites=[_load(Site, i) for i in _ids(form.sites.data)],
        safe_spaces=[_load(SafeSpace, i) for i in _ids(form.safe_spaces.data)],
        service=_load(Service, _ids([form.service.data])[0]) if form.service.data else None,
        language=form.language.data or "en",
    )


def widens_access(args: Mapping[str, Any], _form: Mapping[str, str]) -> bool:
    """Reactivating an account or resetting its second factor needs a fresh second factor
    (``app.auth.stepup``); deactivating and ending sessions take access away and never wait."""
    return args.get("op") in ("reactivate", "reset_mfa")


def approves(args: Mapping[str, Any], _form: Mapping[str, str]) -> bool:
    """Approving a grant applies access or a credential reset; refusing one never waits."""
    return args.get("op") == "approve"


@bp.get("/users")
@require(Permission.ADMIN_USERS)
def users() -> str:
    """All accounts, filtered by role and status, fifty a page."""
    f = forms.UserFilterForm(request.args)
    fall_back(f)  # a refused filter is shown beside its field and not applied
    page = f.page.page
    rows, total = queries.users_page(f.role.data or None, f.status.data or None, page)
    audit.read(Action.USER_LIST, ObjectType.USER)
    return render_template("admin/users.html", rows=rows, total=total, page=page, filters=f,
                           page_size=queries.PAGE_SIZE, pending_grants=grants.pending_count())


@bp.route("/users/new", methods=["GET", "POST"])
@require(Permission.ADMIN_USERS)
@step_up
def user_new() -> str | Response:
    """Create an account. The admin never sets its password: a one-time reset code is shown
    instead, to hand to the person, who chooses their own password with it. A second POST of
    the same form shows the account the first one created (a new one-time code is issued from
    there if the first was lost with the answer)."""
    form = forms.NewUserForm()
    if (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("admin.user_edit", user_id=prior.object_id))
    _fill_user_choices(form)
    if form.validate_on_submit():
        try:
            user = svc.create_user(_spec(form), secrets.token_urlsafe(32) + "Aa1!",
                                   actor=current_user, once=form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("admin.user_edit",
                                                     user_id=done.claim.object_id))
        except svc.AccountError as exc:
            flash(str(exc), "error")
        else:
            if user.approval_pending:
                flash(_("Account created. Its access waits for a second admin's approval; "
                        "issue its one-time code after that."), "info")
                return redirect(url_for("admin.user_edit", user_id=user.id))
            code = auth_service.issue_reset_token(current_user, user)
            return render_template("admin/reset_code.html", user=user, code=code)
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<uuid:user_id>", methods=["GET", "POST"])
@require(Permission.ADMIN_USERS)
@step_up
def user_edit(user_id: uuid.UUID) -> str | Response:
    """View and edit one account; role, status, password, MFA and sessions are managed here."""
    user = _load_user(user_id, Action.USER_UPDATE)
    form = forms.UserForm(obj=None if request.method == "POST" else user)
    _fill_user_choices(form)
    if request.method == "GET":
        form.organisation.data = str(user.organisation_id)
        form.sites.data = [str(s.id) for s in user.sites]
        form.safe_spaces.data = [str(s.id) for s in user.safe_spaces]
        form.service.data = str(user.service_id) if user.service_id else ""
        form.version.data = str(user.version)
    elif form.validate_on_submit():
        try:
            grant = svc.update_user(user, _spec(form), expected_version=int(form.version.data or 0),
                                    actor=current_user)
        except (svc.AccountError, ValueError) as exc:
            flash(str(exc), "error")
        else:
            flash(_("Account saved. The new access waits for a second admin's approval; "
                    "anything removed is already gone.") if grant else _("Account saved."),
                  "info")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=user, action_form=ActionForm(),
                           pending=grants.pending_for(user))


@bp.post("/users/<uuid:user_id>/<any(deactivate, reactivate, reset_mfa, end_sessions):op>")
@require(Permission.ADMIN_USERS)
@step_up(when=widens_access)
def user_action(user_id: uuid.UUID, op: str) -> Response:
    """Deactivate, reactivate, reset MFA or end every session of an account."""
    user = _load_user(user_id, USER_ACTIONS[op])
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        if op in ("deactivate", "reactivate"):
            svc.set_active(user, op == "reactivate", actor=current_user)
        elif op == "reset_mfa" and grants.credential_reset_needs_approval(user):
            grants.request_credential_reset(current_user, user, "mfa_reset")
            flash(_("A second admin must approve this reset; it is listed under Access "
                    "approvals."), "info")
            return redirect(url_for("admin.user_edit", user_id=user.id))
        elif op == "reset_mfa":
            svc.reset_mfa(user)
        else:
            svc.end_sessions(user)
    except (svc.AccountError, grants.GrantError) as exc:
        flash(str(exc), "error")
    else:
        flash(_("Done."), "info")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<uuid:user_id>/reset-password")
@require(Permission.ADMIN_USERS)
@step_up
def user_reset_password(user_id: uuid.UUID) -> str | Response:
    """Issue a one-time reset code (shown once) for the person to set a new password."""
    user = _load_user(user_id, Action.USER_PASSWORD_RESET_ISSUED)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        if grants.credential_reset_needs_approval(user):
            grants.request_credential_reset(current_user, user, "password_reset")
            flash(_("A second admin must approve this reset; the one-time code is shown to the "
                    "admin who approves it."), "info")
            return redirect(url_for("admin.user_edit", user_id=user.id))
        code = auth_service.issue_reset_token(current_user, user)
    except (auth_service.ResetRefused, grants.GrantError) as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/reset_code.html", user=user, code=code)


bp.add_app_template_global(grants.kind_label, "grant_kind_label")


@bp.get("/grants")
@require(Permission.ADMIN_USERS)
def grant_list() -> str:
    """Access waiting for a second admin, and recent decisions."""
    pending, decided = grants.listing()
    audit.read(Action.USER_LIST, ObjectType.ROLE_GRANT)
    return render_template("admin/grants.html", pending=pending, decided=decided,
                           action_form=ActionForm(), sites=_site_names())


def _site_names() -> dict[str, str]:
    return {str(s.id): s.name for s in all_of(Site)} | {
        str(s.id): s.name for s in all_of(SafeSpace)}


@bp.post("/grants/<uuid:grant_id>/<any(approve, refuse):op>")
@require(Permission.ADMIN_USERS)
@step_up(when=approves)
def grant_decide(grant_id: uuid.UUID, op: str) -> str | Response:
    """Approve or refuse a pending grant (never one's own request, never about oneself)."""
    grant = _load_grant(grant_id)
    form = forms.GrantDecisionForm()
    if not form.validate_on_submit():
        abort(400)
    code = None
    try:
        if op == "approve":
            code = grants.approve(current_user, grant, expected_version=form.version.data or 0)
        else:
            grants.refuse(current_user, grant, expected_version=form.version.data or 0)
    except grants.GrantError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.grant_list"))
    if code is not None:
        return render_template("admin/reset_code.html", user=grant.user, code=code)
    flash(_("Approved: it applies now.") if op == "approve" else _("Refused."), "info")
    return redirect(url_for("admin.grant_list"))


def _load_grant(grant_id: uuid.UUID) -> Any:
    """A grant to decide, or 404 recorded as ``user.grant_approve`` denied (either decision)."""
    grant = grants.load(grant_id)
    if grant is None:
        audit.deny_404(Action.USER_GRANT_APPROVE, ObjectType.ROLE_GRANT, grant_id,
                       reason=NOT_FOUND)
    return grant


@bp.get("/directory")
@require(Permission.ADMIN_DIRECTORY)
def directory() -> str:
    """Organisations, sites, safe spaces and services."""
    audit.read(Action.DIRECTORY_VIEW, ObjectType.DIRECTORY)
    return render_template("admin/directory.html", kind_labels=forms.KIND_LABELS,
                           service_type_labels=forms.SERVICE_TYPE_LABELS, **everything())


# The forms that add a directory record, with their one-time token.
NEW_FORMS: dict[ObjectType, type] = {
    ObjectType.ORGANISATION: forms.NewOrganisationForm, ObjectType.SITE: forms.NewSiteForm,
    ObjectType.SAFE_SPACE: forms.NewSafeSpaceForm, ObjectType.SERVICE: forms.NewServiceForm,
}
# Each kind of directory record (also its record type in events): model, edit form, actions.
KINDS: dict[ObjectType, tuple[type, type, Action, Action]] = {
    ObjectType.ORGANISATION: (Organisation, forms.OrganisationForm, Action.ORGANISATION_CREATE,
                              Action.ORGANISATION_UPDATE),
    ObjectType.SITE: (Site, forms.SiteForm, Action.SITE_CREATE, Action.SITE_UPDATE),
    ObjectType.SAFE_SPACE: (SafeSpace, forms.SafeSpaceForm, Action.SAFE_SPACE_CREATE,
                            Action.SAFE_SPACE_UPDATE),
    ObjectType.SERVICE: (Service, forms.ServiceForm, Action.SERVICE_CREATE,
                         Action.SERVICE_UPDATE),
}
# The action an account operation records (also when the account is not found).
USER_ACTIONS: dict[str, Action] = {
    "deactivate": Action.USER_DEACTIVATE, "reactivate": Action.USER_REACTIVATE,
    "reset_mfa": Action.USER_MFA_RESET, "end_sessions": Action.USER_SESSIONS_REVOKED,
}


def _fill_directory_choices(form: Any) -> None:
    if hasattr(form, "organisation"):
        form.organisation.choices = [(str(o.id), o.name) for o in all_of(Organisation)]
    if hasattr(form, "site"):
        form.site.choices = [(str(s.id), f"{s.name} ({s.organisation.name})")
                             for s in all_of(Site)]
    if hasattr(form, "sites"):
        form.sites.choices = [(str(s.id), f"{s.name} ({s.organisation.name})")
                              for s in all_of(Site)]


def _directory_values(kind: str, form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"name": form.name.data, "active": bool(form.active.data)}
    if kind == "organisation":
        values.update(time_zone=form.time_zone.data,
                      passkey_roles=" ".join(sorted(form.passkey_roles.data or [])))
    elif kind == "site":
        values.update(organisation_id=_ids([form.organisation.data])[0],
                      code=(form.code.data or "").upper())
    elif kind == "safe_space":
        site = _load(Site, _ids([form.site.data])[0])
        values.update(site_id=site.id, organisation_id=site.organisation_id, kind=form.kind.data,
                      opened_on=form.opened_on.data)
    elif kind == "service":
        values.update(organisation_id=_ids([form.organisation.data])[0],
                      service_type=form.service_type.data,
                      sites=[_load(Site, i) for i in _ids(form.sites.data)])
    return values


@bp.route("/directory/<any(organisation, site, safe_space, service):kind>/new",
          methods=["GET", "POST"])
@bp.route("/directory/<any(organisation, site, safe_space, service):kind>/<uuid:record_id>",
          methods=["GET", "POST"])
@require(Permission.ADMIN_DIRECTORY)
def directory_record(kind: str, record_id: uuid.UUID | None = None) -> str | Response:
    """Create or edit one directory record (optimistic locking on edit)."""
    object_type = ObjectType(kind)
    model, form_cls, create_action, update_action = KINDS[object_type]
    obj = _load_directory(object_type, record_id) if record_id else None
    form = (form_cls(obj=obj if request.method == "GET" else None) if obj
            else NEW_FORMS[object_type]())
    if obj is None and (prior := form.replayed()) is not None:
        return already_saved(prior, url_for("admin.directory"))
    _fill_directory_choices(form)
    if request.method == "GET" and obj is not None:
        for name in ("organisation", "site"):
            if hasattr(form, name):
                getattr(form, name).data = str(getattr(obj, f"{name}_id"))
        if kind == "service":
            form.sites.data = [str(s.id) for s in obj.sites]
        if kind == "organisation":
            form.passkey_roles.data = obj.passkey_roles.split()
        form.version.data = str(obj.version)
    elif form.validate_on_submit():
        values = _directory_values(kind, form)
        try:
            if obj is None:
                directory_service.create_record(model, values, action=create_action,
                                                object_type=object_type,
                                                submission=form.submission)
            else:
                directory_service.update_record(obj, values, expected_version=form.version.data,
                                                action=update_action, object_type=object_type)
        except AlreadySaved as done:
            return already_saved(done.claim, url_for("admin.directory"))
        except directory_service.DirectoryError as exc:
            flash(str(exc), "error")
        except IntegrityError:
            flash(_("Another record already has this name or code."), "error")
        except ValueError:
            abort(400)
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("admin.directory"))
    return render_template("admin/directory_form.html", form=form, kind=kind, obj=obj)
