"""The home page and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.audit import service as audit
from app.audit.actions import Action
from app.auth.guard import safe_next
from app.auth.policy import authenticated
from app.core import hooks
from app.core.home import gather

bp = Blueprint("main", __name__)


@bp.get("/")
@authenticated
def home() -> str:
    """The signed-in user's working page: what needs doing now, from every feature that has
    something for the role (``hooks.home_panels``), and the links of the role."""
    audit.read(Action.HOME_VIEW)
    panels = gather(hooks.home_panels.collect(user=current_user))
    return render_template("main/home.html", user=current_user, panels=panels)


@bp.post("/language")
def set_language() -> Response:
    """Switch language for this browser (and remember it on the account when signed in)."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated and current_user.language != lang:
            from app.auth import service

            service.set_language(current_user, lang)
    return redirect(safe_next(request.form.get("next")) or url_for("main.home"))
