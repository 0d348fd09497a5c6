"""Language: Arabic and English, chosen by the account, then the session, then the browser."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session
from flask_login import current_user

from app.extensions import babel

RTL_LANGUAGES = frozenset({"ar"})


def select_locale() -> str:
    """The language of this response."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return str(current_user.language)
    chosen = session.get("lang")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(list(languages)) or "en"


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel and give templates the language and its direction."""
    from app.localtime import select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.context_processor
    def _language() -> dict[str, object]:
        from app.security import csp_nonce

        lang = select_locale()
        return {
            "lang": lang,
            "text_dir": "rtl" if lang in RTL_LANGUAGES else "ltr",
            "languages": current_app.config["LANGUAGES"],
            "csp_nonce": csp_nonce,
        }
