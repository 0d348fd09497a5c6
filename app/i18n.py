"""Language: Arabic and English, chosen by the account, then the session, then the browser.

The account's language applies as soon as the account is known: after the password (the
two-step enrolment and the code step, before the session is fully signed in) and on the reset
page once a valid reset code names the account (``use_account_language``). Before that, the
language chosen on the page (kept in the session) and then the browser's Accept-Language.

Digits: Amana shows Latin digits (0-9) in both languages. Babel's ``ar`` locale uses them
(its default numbering system is ``latn``, as in Libya and the Maghreb), case numbers and
GBVIMS bands are written with them, and a caseworker types them; one set of digits everywhere
avoids reading ``١٨`` on one line and ``18`` on the next. Dates and numbers still follow the
locale's patterns and separators (``app.formatting``).
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import refresh
from flask_login import current_user

from app.extensions import babel

RTL_LANGUAGES = frozenset({"ar"})


def _account_language() -> str | None:
    """The language of the account this request acts for, once it is known."""
    if current_user and current_user.is_authenticated:
        return str(current_user.language)
    chosen = g.get("account_language")
    if chosen:
        return str(chosen)
    row = g.get("auth_session")  # a session between password and second step (enrolment)
    if row is not None and getattr(row, "user", None) is not None:
        return str(row.user.language)
    return None


def select_locale() -> str:
    """The language of this response."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    account = _account_language()
    if account in languages:
        return str(account)
    chosen = session.get("lang")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(list(languages)) or "en"


def use_account_language(language: str | None) -> None:
    """From now on this response speaks the account's language (the reset page, once the code
    names the account). Unknown languages are ignored."""
    if language and language in current_app.config["LANGUAGES"]:
        g.account_language = language
        refresh()


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel and give templates the language, its direction and the formatting
    filters (``app.formatting``); times are shown in the organisation's zone
    (``app.localtime.select_timezone``)."""
    from app.formatting import install_formatting
    from app.localtime import select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    install_formatting(app)

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
