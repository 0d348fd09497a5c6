"""Arabic plural forms follow the standard rule (CLDR/gettext): form 4 for 11-99 (the singular
with tanween, "15 سطرًا") and form 5 for 100-102 ("100 سطر"). Babel once wrote a header with
the two swapped; every translation is written for the standard order."""

from __future__ import annotations

from pathlib import Path

from babel.support import Translations

TRANSLATIONS = Path(__file__).resolve().parents[1] / "app" / "translations"


def test_the_arabic_catalogue_uses_the_standard_plural_rule():
    plural = Translations.load(str(TRANSLATIONS), ["ar"]).plural
    expected = {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 11: 4, 15: 4, 99: 4, 100: 5, 101: 5, 102: 5,
                103: 3, 111: 4, 1000: 5}
    assert {n: plural(n) for n in expected} == expected
