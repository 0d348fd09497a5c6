"""The home page and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.guard import safe_next
from app.auth.policy import authenticated

bp = Blueprint("main", __name__)


@bp.get("/")
@authenticated
def home() -> str:
    """The signed-in user's start page: what their role can do."""
    return render_template("main/home.html", user=current_user)


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
