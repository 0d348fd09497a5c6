"""Blind indexes: normalisation makes equivalent spellings meet (property-based), different
values stay apart, per-index keys keep indexes unrelated, and search confirms after decryption."""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.crypto.blind_index import (
    PERSON_NAME,
    PHONE,
    BlindIndex,
    candidate_ids,
    set_index_values,
)
from app.crypto.models import BlindIndexEntry
from app.crypto.normalise import normalise_code, normalise_phone, normalise_text
from app.crypto.search import find
from app.db import db
from tests.helpers.crypto import Specimen, with_tables

FULL = BlindIndex("full_width_test", bits=256)  # no truncation: equal digests mean equal values
ARABIC_BASE = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
HARAKAT = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670"
ALEF_FORMS = "اأإآٱ"
DIGITS = {"ascii": "0123456789", "arabic": "٠١٢٣٤٥٦٧٨٩", "persian": "۰۱۲۳۴۵۶۷۸۹"}

arabic_words = st.text(alphabet=ARABIC_BASE + "اةى", min_size=1, max_size=12)
latin_words = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12)


@pytest.fixture
def sapp(app):
    return with_tables(app)


def _vary_arabic(word: str, draw) -> str:
    """A spelling a person would consider the same: marks, tatweel, letter variants."""
    out = []
    for ch in word:
        if ch == "ا":
            ch = draw(st.sampled_from(ALEF_FORMS))
        elif ch in "ةه":
            ch = draw(st.sampled_from("ةه"))
        elif ch in "ىي":
            ch = draw(st.sampled_from("ىيی"))
        out.append(ch)
        out.append(draw(st.text(alphabet=HARAKAT + "\u0640", max_size=2)))
    return "".join(out)


@st.composite
def arabic_pair(draw):
    words = draw(st.lists(arabic_words, min_size=1, max_size=3))
    a = " ".join(words)
    gap = draw(st.sampled_from([" ", "  ", "\t", " \u200c", "\u00a0"]))
    edge = draw(st.sampled_from(["", " ", "\u00a0"]))
    return a, edge + gap.join(_vary_arabic(w, draw) for w in words) + edge


@st.composite
def latin_pair(draw):
    words = draw(st.lists(latin_words, min_size=1, max_size=3))
    a = " ".join(words)
    accented = "".join(c + draw(st.sampled_from(["", "\u0301", "\u0308"])) for c in a)
    b = "".join(c.upper() if draw(st.booleans()) else c for c in accented)
    b = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), b)
    return a, "  " + b.replace(" ", draw(st.sampled_from([" ", "   ", "\n"]))) + " "


@settings(max_examples=300, deadline=None)
@given(arabic_pair())
def test_equivalent_arabic_spellings_meet(pair):
    a, b = pair
    assert normalise_text(a) == normalise_text(b)


@settings(max_examples=300, deadline=None)
@given(latin_pair())
def test_equivalent_latin_spellings_meet(pair):
    a, b = pair
    assert normalise_text(a) == normalise_text(b) == a


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=12),
       st.sampled_from(sorted(DIGITS)), st.sampled_from(sorted(DIGITS)))
def test_digit_forms_meet(number, form_a, form_b):
    def render(form):
        return number.translate(str.maketrans(DIGITS["ascii"], DIGITS[form]))
    assert normalise_text(render(form_a)) == normalise_text(render(form_b)) == number
    assert normalise_code("TRI-" + render(form_a)) == normalise_code("tri " + render(form_b))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9).filter(lambda n: n[0] != "0"),
       st.sampled_from(sorted(DIGITS)))
def test_libyan_phone_forms_meet(national, form):
    local = national.translate(str.maketrans(DIGITS["ascii"], DIGITS[form]))
    spellings = [f"+218 {local[:2]} {local[2:5]} {local[5:]}", f"00218{local}", f"0{local}",
                 f"({local[:2]}) {local[2:]}", f"+218-{local}", local]
    assert {normalise_phone(s) for s in spellings} == {"218" + national}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9),
       st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_different_phones_stay_apart(a, b):
    assume(a.lstrip("0") != b.lstrip("0"))
    assert normalise_phone("+218" + a) != normalise_phone("+218" + b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(arabic_words | latin_words, min_size=1, max_size=3),
       st.lists(arabic_words | latin_words, min_size=1, max_size=3))
def test_different_names_stay_apart(app, a, b):
    na, nb = normalise_text(" ".join(a)), normalise_text(" ".join(b))
    assume(na != nb)
    with app.app_context():
        assert FULL.digest(" ".join(a)) != FULL.digest(" ".join(b))


@pytest.mark.parametrize(("a", "b"), [
    ("فاطمة", "فَاطِمَه"), ("أحمد", "احمد"), ("إبراهيم", "ابراهيم"), ("آمنة", "امنه"),
    ("مصطفى", "مُصْطَفي"), ("عبد الله", "عبـــد  الله"), ("ﻓﺎﻃﻤﺔ", "فاطمة"), ("Fátima", "FATIMA"),
    ("Zoë  O'Neil", "zoe o neil"), ("٠٩١٢٣٤٥٦٧٨", "0912345678"),
])
def test_known_equivalents(a, b):
    assert normalise_text(a) == normalise_text(b)


@pytest.mark.parametrize(("a", "b"), [
    ("فاطمة", "فطيمة"), ("أحمد", "محمد"), ("Ali", "Alia"), ("سمير", "سميرة"), ("12", "21"),
])
def test_known_differences(a, b):
    assert normalise_text(a) != normalise_text(b)


def test_same_value_differs_between_indexes_and_keys(app):
    with app.app_context():
        digests = {PERSON_NAME.digest("0912345678"), PHONE.digest("0912345678"),
                   BlindIndex("case_number", normalise_code).digest("0912345678")}
        assert len(digests) == 3 and all(len(d) == 2 for d in digests)
        assert PERSON_NAME.digest("   ") is None
        before = BlindIndex("other", bits=256).digest("Fatima")
        app.config["KEY_INDEX_ROOT"] = bytes(range(32))
        app.extensions.pop("amana_blind_index_keys")
        assert BlindIndex("other", bits=256).digest("Fatima") != before


def test_find_by_name_and_phone_confirms_after_decryption(sapp):
    with sapp.app_context():
        people = [Specimen(full_name=n, phone=p) for n, p in [
            ("فاطمة علي", "+218 91 234 5678"), ("Fatima Ali", "0921112222"),
            ("فاطمه  عَلي", None), ("Mona", "091-234-5678"), ("Salma", None)]]
        db.session.add_all(people)
        db.session.commit()
        ids = [p.id for p in people]
    with sapp.app_context():
        stmt = select(Specimen)
        assert {s.id for s in find(stmt, full_name="فَاطِمَة عَلِي")} == {ids[0], ids[2]}
        assert {s.id for s in find(stmt, full_name="fatima ALI")} == {ids[1]}
        assert {s.id for s in find(stmt, phone="00218912345678")} == {ids[0], ids[3]}
        assert find(stmt, full_name="Nobody") == []
        # The caller's scope is applied: a record outside it is never returned.
        assert find(stmt.where(Specimen.id != ids[0]), phone="0912345678") == [
            db.session.get(Specimen, ids[3])]
        # Several fields: any one equal is a match; an empty value searches nothing.
        assert {s.id for s in find(stmt, full_name="Mona", phone="0921112222")} == {ids[1], ids[3]}
        assert {s.id for s in find(stmt, full_name="Salma", phone="")} == {ids[4]}
        assert find(stmt, full_name=None, phone="") == []
        with pytest.raises(ValueError):
            find(stmt, date_of_birth="2000-01-01")


def test_truncated_digest_collisions_are_confirmed_away(sapp):
    narrow = BlindIndex("person_name", bits=8)
    with sapp.app_context():
        # Find two different names that share an 8-bit digest under the real key.
        seen: dict[bytes, str] = {}
        for i in range(2000):
            name = f"Person {i}"
            d = narrow.digest(name)
            if d in seen:
                other = name
                break
            seen[d] = name
        first = seen[narrow.digest(other)]
        a, b = Specimen(), Specimen()
        db.session.add_all([a, b])
        a.full_name, b.full_name = first, other
        set_index_values(narrow, [first], owner_table="specimens", owner_id=a.id,
                         field_name="full_name", data_key_id=a.data_key_id)
        set_index_values(narrow, [other], owner_table="specimens", owner_id=b.id,
                         field_name="full_name", data_key_id=b.data_key_id)
        db.session.commit()
        assert set(candidate_ids(narrow, first, "specimens")) == {a.id, b.id}
        field = Specimen.full_name
        confirmed = [s for s in db.session.execute(select(Specimen)).scalars()
                     if narrow.same(field.__get__(s, Specimen), first)]
        assert [s.id for s in confirmed] == [a.id]


def test_index_entries_follow_changes_and_deletion(sapp):
    with sapp.app_context():
        s = Specimen(full_name="Old Name", phone="0911111111")
        db.session.add(s)
        db.session.commit()
        sid = s.id
        s.full_name = "New Name"
        db.session.commit()
        stmt = select(Specimen)
        assert find(stmt, full_name="old name") == []
        assert [x.id for x in find(stmt, full_name="new name")] == [sid]
        s.phone = None
        db.session.commit()
        assert find(stmt, phone="0911111111") == []
        count = select(func.count()).select_from(BlindIndexEntry).where(BlindIndexEntry.owner_id == sid)
        assert db.session.execute(count).scalar_one() == 1
        db.session.delete(s)
        db.session.commit()
        assert db.session.execute(count).scalar_one() == 0


def test_set_index_values_holds_name_and_aliases(sapp):
    with sapp.app_context():
        s = Specimen(full_name="Khadija")
        db.session.add(s)
        set_index_values(PERSON_NAME, ["Khadija", "Umm Ali", None, "KHADIJA"], owner_table="specimens",
                         owner_id=s.id, field_name="identity", data_key_id=s.data_key_id)
        db.session.commit()
        assert candidate_ids(PERSON_NAME, "umm ali", "specimens") == [s.id]
        assert candidate_ids(PERSON_NAME, "khadija", "specimens") == [s.id]
        set_index_values(PERSON_NAME, ["Khadija"], owner_table="specimens", owner_id=s.id,
                         field_name="identity", data_key_id=s.data_key_id)
        db.session.commit()
        assert candidate_ids(PERSON_NAME, "umm ali", "specimens") == []


def test_rolled_back_value_leaves_no_index_entry_behind(sapp):
    with sapp.app_context():
        s = Specimen(full_name="Kept Name")
        db.session.add(s)
        db.session.commit()
        s.full_name = "Abandoned Name"
        db.session.rollback()
        s.label = "touched later"
        db.session.commit()
        stmt = select(Specimen)
        assert find(stmt, full_name="abandoned name") == []
        assert [x.id for x in find(stmt, full_name="kept name")] == [s.id]
