"""Names that cannot be confused (issue 11, item 9): usernames from a safe ASCII set, display
names in Arabic or Latin script, and no name whose TR39 skeleton matches another account's."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.admin.names import NameRefused, clean_display_name, clean_username, skeleton
from app.auth.models import User
from app.db import db
from tests.helpers.accounts import edit_user, post_user


@pytest.mark.parametrize("name", [
    "d\u0435mo-admin",      # Cyrillic "е"
    "adm\u0131n",           # dotless i
    "caseworker\u200b",     # zero-width space
    "ｃａｓｅ",               # full-width
    "-leading", "trailing.", "has space", "bad/slash", "x" * 65, "",
])
def test_unsafe_usernames_refused(name):
    with pytest.raises(NameRefused):
        clean_username(name)


def test_safe_usernames_folded():
    assert clean_username("Fatima.K") == "fatima.k"
    assert clean_username("cw_2-b") == "cw_2-b"


@pytest.mark.parametrize("a,b", [
    ("Amal Saleh", "AmaI SaIeh"),       # capital I for l
    ("AMAL", "amal"),
    ("maryam", "rnaryam"),              # rn for m
    ("مريم", "مریم"),                   # Arabic and Farsi yeh
    ("فاطمة", "ﻓﺎﻃﻤﺔ"),                 # presentation forms
    ("Test caseworker", "Test casewοrker"),  # Greek omicron
])
def test_skeletons_collide(a, b):
    assert skeleton(a) == skeleton(b)


def test_distinct_names_do_not_collide():
    assert skeleton("Huda") != skeleton("Hoda")
    assert skeleton("Amal") != skeleton("Amel")


@pytest.mark.parametrize("name", ["Nadia Ивановна", "Ω Team", "Amal <b>", "😀 Amal", "١٢٣"])
def test_display_names_outside_arabic_and_latin_refused(name):
    with pytest.raises(NameRefused):
        clean_display_name(name)


def test_display_names_in_arabic_or_latin_accepted():
    assert clean_display_name("  فاطمة   الزهراء ") == "فاطمة الزهراء"
    assert clean_display_name("Ḥanān O'Neil-Smith 2") == "Ḥanān O'Neil-Smith 2"


def _count(app, **where):
    with app.app_context():
        stmt = select(func.count()).select_from(User)
        for key, value in where.items():
            stmt = stmt.where(getattr(User, key) == value)
        return db.session.execute(stmt).scalar_one()


def test_admin_screens_refuse_confusable_accounts(app, auth, world):
    admin = auth.login("admin")
    before = _count(app)
    for over in ({"username": "d\u0435mo-admin"},                  # looks like a username
                 {"username": "adrnin"},                           # rn for m: "admin"
                 {"display_name": "Test casewοrker"},              # Greek omicron
                 {"display_name": "Test Caseworker"},              # differs only in case
                 {"display_name": "Test adrnin"}):
        r = post_user(admin, world, "/admin/users/new", role="auditor", sites=[], **over)
        assert r.status_code == 200, over
        body = r.get_data(as_text=True)
        assert "reset-code" not in body, over
        assert ("looks like another account" in body or "Latin letters" in body), over
    assert _count(app) == before
    # Editing into a confusable name is refused too, and changes nothing.
    r = edit_user(app, admin, world, "auditor", display_name="Test supervisοr")
    assert "looks like another account" in r.get_data(as_text=True)
    assert _count(app, display_name="Test auditor") == 1


def test_command_line_refuses_confusable_username(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--username", "d\u0435mo", "--role",
                                 "auditor", "--org", "Test NGO"], input="a long enough passphrase\n")
    assert result.exit_code != 0 and "Username" in result.output
