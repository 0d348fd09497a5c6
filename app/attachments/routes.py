"""Attachment screens: attach a file to a case (from the case page), download a case's file,
download a file shared with a referral. Views only load, call and show; every download is
audited and served as a download only (never shown in the browser)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from app.attachments import service
from app.attachments.forms import AttachmentForm
from app.attachments.loaders import load_attachment, load_shared
from app.attachments.models import MEDIA_TYPES, FileType
from app.audit import service as audit
from app.audit.actions import Action, ObjectType
from app.auth.policy import Permission, require
from app.cases import views
from app.cases.route_support import case_page_again, fail
from app.cases.scopes import load_case
from app.core.errors import CaseError
from app.security import larger_body, sandboxed
from app.submissions.service import AlreadySaved, already_saved

bp = Blueprint("attachments", __name__)
PREFIX = "attachment"  # the case page has other forms with a "kind" field

# The case page's upload form (``app.cases.views.CASE_FORMS``): cases never import attachments.
views.CASE_FORMS["attachment_form"] = lambda case: AttachmentForm(formdata=None, prefix=PREFIX,
                                                                  context=case.id)


@bp.post("/cases/<uuid:case_id>/attachments")
@require(Permission.CASE_EDIT)
@larger_body("ATTACHMENT_MAX_BYTES")
def upload(case_id: uuid.UUID) -> str | BaseResponse:
    """Attach a file (refused: the case page, the message beside the field, nothing saved)."""
    access = load_case(current_user, case_id, write=True, action=Action.ATTACHMENT_UPLOAD)
    case = access.case
    form = AttachmentForm(prefix=PREFIX, context=case.id)
    back = url_for("cases.view", case_id=case.id, _anchor="attachments")
    if (prior := form.replayed()) is not None:
        return already_saved(prior, back)
    if form.validate_on_submit():
        try:
            service.add(current_user, case, form.command(), form.submission)
        except AlreadySaved as done:
            return already_saved(done.claim, back)
        except service.AttachmentError as exc:
            getattr(form, exc.field).errors = [str(exc)]
        except CaseError as exc:  # the case takes no changes (closed)
            fail(exc)
            return redirect(back)
        else:
            return redirect(back)
    return case_page_again(access, attachment_form=form)


def _download(data: bytes, file_type: str, name: str) -> Response:
    """``data`` as a download only: never shown inline, never sniffed, never cached, sandboxed
    should a browser open it anyway."""
    response = Response(data, mimetype=MEDIA_TYPES[FileType(file_type)])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return sandboxed(response)


@bp.get("/cases/<uuid:case_id>/attachments/<uuid:attachment_id>")
@require(Permission.CASE_READ)
def download(case_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    """Download a case's file (audited), under a neutral name."""
    _access, attachment = load_attachment(current_user, case_id, attachment_id)
    audit.read(Action.ATTACHMENT_DOWNLOAD, ObjectType.ATTACHMENT, attachment.id)
    return _download(service.content_of(attachment), attachment.file_type,
                     service.download_name(attachment.id, attachment.file_type))


@bp.get("/referrals/<uuid:referral_id>/files/<uuid:file_id>")
@require(Permission.REFERRAL_RECEIVE)
def shared_download(referral_id: uuid.UUID, file_id: uuid.UUID) -> Response:
    """Download a file shared with a referral to the user's service (audited)."""
    _referral, shared = load_shared(current_user, referral_id, file_id)
    audit.read(Action.ATTACHMENT_DOWNLOAD, ObjectType.REFERRAL_ATTACHMENT, shared.id)
    data = shared.content
    if data is None:  # never: a copy always has its bytes
        raise CaseError(str(_l("This file cannot be read.")))
    return _download(data, shared.file_type, service.download_name(shared.id, shared.file_type))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_: RequestEntityTooLarge) -> tuple[str, int]:
    """An upload over the limit: said plainly, nothing stored (the body was never read)."""
    mb = service.max_bytes() // (1024 * 1024)
    return render_template(
        "errors/error.html", code=413, title=_l("File too large"),
        message=_l("The file is larger than %(mb)d MB, the largest Amana accepts. Nothing was "
                   "saved: scan it at a lower resolution, or split it, and attach it again.",
                   mb=mb)), 413
