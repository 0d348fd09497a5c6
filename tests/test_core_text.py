"""Blank text is stored as nothing, in one way (app.core.text)."""

from __future__ import annotations

from app.core.text import blank_to_none


def test_blank_is_none_and_text_is_trimmed_unless_asked_not_to():
    for blank in (None, "", "   ", "\n\t "):
        assert blank_to_none(blank) is None
        assert blank_to_none(blank, strip=False) is None
    assert blank_to_none("  note \n") == "note"
    assert blank_to_none("  note \n", strip=False) == "  note \n"
    assert blank_to_none(7) == 7  # not text: passed on as it is
