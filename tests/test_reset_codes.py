"""Reset codes an admin reads out by phone: no look-alike characters, at least 128 bits,
grouped in fours, and accepted as a person types them (lower case, spaces, hyphens)."""

from __future__ import annotations

import math
import re
import uuid

from app.auth import codes
from app.auth.models import User
from app.db import db
from tests.helpers.forms import csrf_from

GROUPED = re.compile(r"^[A-Z2-9]{4}(?:-[A-Z2-9]{4}){6}$")


def test_the_alphabet_has_no_look_alikes():
    assert len(codes.ALPHABET) == 32 and len(set(codes.ALPHABET)) == 32
    assert not set("0O1Il") & set(codes.ALPHABET)
    assert not any(ch.islower() for ch in codes.ALPHABET)  # no lower-case l to read as a one


def test_a_code_carries_at_least_128_bits():
    assert codes.BITS == codes.LENGTH * math.log2(32) >= 128
    code = codes.new_reset_code()
    assert len(code.replace("-", "")) == codes.LENGTH


def test_codes_are_grouped_in_fours_from_the_alphabet_and_differ():
    seen = {codes.new_reset_code() for _ in range(200)}
    assert len(seen) == 200
    for code in seen:
        assert GROUPED.match(code), code
        assert set(code.replace("-", "")) <= set(codes.ALPHABET)
    # Every character of the alphabet turns up (the choice is not narrowed by accident).
    assert set("".join(seen).replace("-", "")) == set(codes.ALPHABET)


def test_typed_variants_read_as_the_code():
    code = "ABCD-EFGH-JKLM-NPQR-STUV-WXYZ-2345"
    for typed in (code, code.lower(), code.replace("-", " "), code.replace("-", ""),
                  f"  {code.lower().replace('-', ' - ')}  ", code.replace("-", "\u2013")):
        assert codes.normalise(typed) == code, typed


def _issue(app, world, username):
    from app.auth.service import issue_reset_token

    with app.test_request_context():
        admin = db.session.get(User, uuid.UUID(world.users["admin"]))
        return issue_reset_token(admin, db.session.get(User, uuid.UUID(world.users[username])))


def test_the_issued_code_is_readable_and_works_as_typed(app, world):
    code = _issue(app, world, "caseworker2")
    assert GROUPED.match(code)
    c = app.test_client()
    page = c.get("/auth/reset").get_data(as_text=True)
    typed = code.lower().replace("-", " ")
    r = c.post("/auth/reset", data={"token": typed, "new": "a good long passphrase",
                                    "confirm": "a good long passphrase",
                                    "csrf_token": csrf_from(page)})
    assert r.status_code == 302 and r.location.endswith("/auth/login")
    # Used once: the same code, typed either way, is refused.
    r = c.post("/auth/reset", data={"token": code, "new": "another good passphrase",
                                    "confirm": "another good passphrase",
                                    "csrf_token": csrf_from(page)})
    assert "not valid" in r.get_data(as_text=True)


def test_a_code_with_one_wrong_character_is_refused(app, world):
    code = _issue(app, world, "caseworker2")
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    c = app.test_client()
    page = c.get("/auth/reset").get_data(as_text=True)
    r = c.post("/auth/reset", data={"token": wrong, "new": "a good long passphrase",
                                    "confirm": "a good long passphrase",
                                    "csrf_token": csrf_from(page)})
    assert r.status_code == 200 and "not valid" in r.get_data(as_text=True)
