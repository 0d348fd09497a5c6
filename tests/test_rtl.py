"""Arabic reads right: ranges and codes keep their order, user text is isolated, codes are
shown by name, and pages before sign-in speak the browser's (then the account's) language."""

from __future__ import annotations

import re
import uuid
from datetime import date
from html.parser import HTMLParser

from flask_babel import force_locale

from app.audit.actions import Action, ObjectType
from app.audit.labels import ACTION_LABELS, OBJECT_TYPE_LABELS, action_label, object_type_label
from app.auth.models import User
from app.cases.labels import choices, label
from app.core.bidi import FSI, LRI, PDI, isolate_auto, isolate_ltr, isolate_numbers
from app.db import db
from app.formatting import bdi, ltr, number
from tests.helpers.factories import CANARY
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


class _Text(HTMLParser):
    """The text nodes of a page (what a reader sees), scripts and styles left out."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_codes(html: str) -> set[str]:
    parser = _Text()
    parser.feed(html)
    return set(SNAKE.findall(" ".join(parser.parts)))


def _set_language(app, world, username: str, language: str) -> None:
    with app.app_context():
        db.session.get(User, uuid.UUID(world.users[username])).language = language
        db.session.commit()


# --- ranges, codes and user text -----------------------------------------------------------

def test_numeric_ranges_are_isolated_left_to_right():
    assert isolate_numbers("18–25") == f"{LRI}18–25{PDI}"
    assert isolate_numbers("0–3 أيام") == f"{LRI}0–3{PDI} أيام"
    assert isolate_numbers("فتيات 15–17، نساء 18–19") == f"فتيات {LRI}15–17{PDI}، نساء {LRI}18–19{PDI}"
    assert isolate_numbers("61 and over") == "61 and over"  # no range: unchanged
    assert isolate_numbers(isolate_numbers("0–11")) == f"{LRI}0–11{PDI}"  # idempotent
    assert isolate_ltr("TRI-2026-00001") == f"{LRI}TRI-2026-00001{PDI}"
    assert isolate_auto("Amira.") == f"{FSI}Amira.{PDI}" and isolate_ltr("") == ""


def test_age_groups_and_report_bands_keep_their_ranges_in_arabic(app):
    with app.test_request_context(), force_locale("ar"):
        assert label("18_25", "age_group") == f"{LRI}18–25{PDI}"
        assert label("0_11", "age_group") == f"{LRI}0–11{PDI}"
        assert label("0_3_days", "report_band") == f"{LRI}0–3{PDI} أيام"
        # The select options carry the same isolated labels.
        assert (str(dict(choices("age_group"))["18_25"])) == f"{LRI}18–25{PDI}"
    # In English (left to right) the labels stay exactly as written: nothing to isolate, and
    # the label a person or a screen reader looks for is unchanged.
    with app.test_request_context(), force_locale("en"):
        assert label("18_25", "age_group") == "18–25"
        assert label("0_3_days", "report_band") == "0–3 days"


def test_safe_space_age_labels_and_hints_isolate_ranges_in_arabic(app):
    from app.formatting import ranges
    from app.safe_space.forms import SessionForm

    with app.test_request_context(), force_locale("ar"):
        assert f"{LRI}10–14{PDI}" in str(SessionForm.girls_10_14.args[0])
        assert ranges("(girls 15–17, women 18–19)").count(LRI) == 2
    with app.test_request_context(), force_locale("en"):
        assert str(SessionForm.girls_10_14.args[0]) == "Girls aged 10–14"
        assert ranges("(girls 15–17)") == "(girls 15–17)"


def test_filters_isolate_values_and_escape_them(app):
    assert str(ltr("TRI-2026-00001")) == '<bdi dir="ltr">TRI-2026-00001</bdi>'
    assert str(bdi("<b>Amira</b>.")) == "<bdi>&lt;b&gt;Amira&lt;/b&gt;.</bdi>"
    assert str(bdi(None)) == "" and str(ltr("")) == ""
    with app.test_request_context(), force_locale("ar"):
        assert number(1234567) == "1,234,567"  # Latin digits in Arabic too (app/i18n.py)
    with app.test_request_context(), force_locale("en"):
        assert number(1234.5) == "1,234.5" and number(None) == ""


def test_arabic_case_page_isolates_ranges_case_numbers_and_user_text(app, auth, world):
    _set_language(app, world, "caseworker", "ar")
    c = auth.login("caseworker")
    page = c.get(f"/cases/{world.ids['case_own']}").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert f'<bdi dir="ltr">{world.case_numbers["case_own"]}</bdi>' in page
    assert f"{LRI}26–40{PDI}" in page  # the survivor's age group (estimated age 30)
    assert f"<bdi>{CANARY['own_name']}</bdi>" in page
    assert f"<bdi>{CANARY['own_alias']}</bdi>" in page
    assert f"<bdi>{CANARY['own_narrative']}</bdi>" in page
    assert f"<bdi>{CANARY['own_location']}</bdi>" in page
    assert '<bdi dir="ltr">+218 91 333 0202</bdi>' in page


def test_arabic_note_in_latin_keeps_its_full_stop_inside_its_isolate(app, auth, world):
    _set_language(app, world, "caseworker", "ar")
    c = auth.login("caseworker")
    case = world.ids["case_own"]
    page = c.get(f"/cases/{case}").get_data(as_text=True)
    from tests.helpers.forms import form_tokens

    r = c.post(f"/cases/{case}/notes", data={"body": "Called the clinic.",
                                             **form_tokens(page, f"/cases/{case}/notes")})
    assert r.status_code in (302, 303), r.status_code
    page = c.get(f"/cases/{case}").get_data(as_text=True)
    assert "<bdi>Called the clinic.</bdi>" in page


# --- codes shown by name -------------------------------------------------------------------

def test_every_audit_action_and_record_type_has_a_label(app):
    assert set(ACTION_LABELS) == set(Action) and set(OBJECT_TYPE_LABELS) == set(ObjectType)
    with app.test_request_context(), force_locale("en"):
        assert action_label("auth.login_failed") == "Login failed"
        assert object_type_label("role_grant") == "Access approval"
        assert action_label("gone.from_an_old_release") == "gone.from_an_old_release"
        assert action_label(None) == "" and object_type_label("") == ""
        for text in (*map(str, ACTION_LABELS.values()), *map(str, OBJECT_TYPE_LABELS.values())):
            assert not SNAKE.search(text), text


def test_directory_shows_no_raw_code(app, auth, world):
    c = auth.login("admin")
    for lang in ("en", "ar"):
        c.post("/language", data={"lang": lang, "csrf_token": auth.csrf(c)})
        page = c.get("/admin/directory").get_data(as_text=True)
        assert f'lang="{lang}"' in page
        assert visible_codes(page) == set(), lang
    assert "Mental health and psychosocial support" in page or "الصحة النفسية" in page
    assert '<bdi dir="ltr">TRI</bdi>' in page
    # Kinds and service types by name (the codes static, mhpss, legal are not shown).
    for code in ("static", "mhpss", "legal"):
        assert f">{code}<" not in page, code


def test_audit_filters_and_events_show_actions_by_name(app, auth, world):
    c = auth.login("auditor")
    page = c.get("/audit/events").get_data(as_text=True)
    filters = re.search(r'<form method="get"[^>]*audit-filters.*?</form>', page, re.S).group(0)
    assert visible_codes(filters) == set()
    assert '<option value="auth.login_failed">Login failed</option>' in filters
    assert '<option value="role_grant">Access approval</option>' in filters
    # The table names the action; the code stays in the title for the auditor.
    assert '<span title="auth.login">Logged in</span>' in page
    assert "<code>auth.login</code>" not in page
    # Filtering by a labelled code still works.
    r = c.get("/audit/events?action=auth.login_failed")
    assert r.status_code == 200


# --- the language before sign-in -----------------------------------------------------------

def test_pages_before_login_follow_the_browser(app):
    c = app.test_client()
    for path in ("/auth/login", "/auth/reset"):
        page = c.get(path, headers={"Accept-Language": "ar,en;q=0.5"}).get_data(as_text=True)
        assert '<html lang="ar" dir="rtl">' in page, path
        page = c.get(path, headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
        assert '<html lang="en" dir="ltr">' in page, path
    # A language chosen on the page wins over the browser's.
    page = c.get("/auth/login", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    c.post("/language", data={"lang": "en", "csrf_token": csrf_from(page)},
           headers={"Accept-Language": "ar"})
    page = c.get("/auth/login", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in page


def test_enrolment_speaks_the_account_language(app, world):
    _set_language(app, world, "newbie", "ar")
    c = app.test_client()
    english = {"Accept-Language": "en"}
    page = c.get("/auth/login", headers=english).get_data(as_text=True)
    assert 'lang="en"' in page
    r = c.post("/auth/login", data={"username": "newbie", "password": PASSWORD,
                                    "csrf_token": csrf_from(page)}, headers=english)
    assert r.location.endswith("/auth/mfa/enrol")
    page = c.get("/auth/mfa/enrol", headers=english).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page


def test_the_code_step_speaks_the_account_language(app, world):
    _set_language(app, world, "caseworker2", "ar")
    c = app.test_client()
    page = c.get("/auth/login").get_data(as_text=True)
    c.post("/auth/login", data={"username": "caseworker2", "password": PASSWORD,
                                "csrf_token": csrf_from(page)})
    assert '<html lang="ar" dir="rtl">' in c.get("/auth/mfa").get_data(as_text=True)


def _issue_code(app, world, username: str) -> str:
    from app.auth.service import issue_reset_token

    with app.test_request_context():
        admin = db.session.get(User, uuid.UUID(world.users["admin"]))
        user = db.session.get(User, uuid.UUID(world.users[username]))
        return issue_reset_token(admin, user)


def test_reset_page_speaks_the_account_language_once_the_code_names_it(app, world):
    _set_language(app, world, "caseworker2", "ar")
    code = _issue_code(app, world, "caseworker2")
    c = app.test_client()
    english = {"Accept-Language": "en"}
    page = c.get("/auth/reset", headers=english).get_data(as_text=True)
    assert 'lang="en"' in page
    # A weak password is refused in the account's language, beside the field.
    r = c.post("/auth/reset", data={"token": code, "new": "password1234", "confirm": "password1234",
                                    "csrf_token": csrf_from(page)}, headers=english)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and '<html lang="ar" dir="rtl">' in body
    # A wrong code names no account: the browser's language stays.
    r = c.post("/auth/reset", data={"token": "ABCD-EFGH", "new": "a good long passphrase",
                                    "confirm": "a good long passphrase",
                                    "csrf_token": csrf_from(page)}, headers=english)
    assert '<html lang="en" dir="ltr">' in r.get_data(as_text=True)
    # Once the password is set, the login page that follows speaks it too.
    r = c.post("/auth/reset", data={"token": code, "new": "a good long passphrase",
                                    "confirm": "a good long passphrase",
                                    "csrf_token": csrf_from(page)}, headers=english)
    assert r.status_code == 302
    assert '<html lang="ar" dir="rtl">' in c.get("/auth/login", headers=english).get_data(as_text=True)


def test_dates_follow_the_language(app):
    from app.ui import dateformat

    with app.test_request_context(), force_locale("en"):
        english = dateformat(date(2026, 3, 4))
    with app.test_request_context(), force_locale("ar"):
        arabic = dateformat(date(2026, 3, 4))
    assert english == "Mar 4, 2026" and arabic != english
    assert "2026" in arabic and not re.search("[\u0660-\u0669]", arabic)  # Latin digits
