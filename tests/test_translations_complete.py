"""Every string the app marks for translation has its Arabic, in every plural form.

The strings are extracted afresh, exactly as ``make extract-messages`` does (its command is
read from the Makefile, keywords included), so a string added without running it, or a
translation left empty or fuzzy, fails here rather than showing English on an Arabic page.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
ARABIC = ROOT / "app" / "translations" / "ar" / "LC_MESSAGES" / "messages.po"


def _extract_flags() -> list[str]:
    """The keyword and mapping flags of the Makefile's ``pybabel extract`` line."""
    line = next(x for x in (ROOT / "Makefile").read_text().splitlines()
                if "pybabel extract" in x)
    words = shlex.split(line.split("pybabel extract", 1)[1])
    flags, skip = [], False
    for i, word in enumerate(words):
        if skip:
            skip = False
        elif word in ("-F", "-k"):
            flags += [word, words[i + 1]]
            skip = True
    return flags


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else "|".join(message_id)


def test_every_extracted_string_is_translated_into_arabic(tmp_path: Path) -> None:
    pot = tmp_path / "fresh.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "-q", "extract", *_extract_flags(), "-o", str(pot), "app"],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    with pot.open("rb") as f:
        wanted = {_key(m.id): m for m in read_po(f) if m.id}
    with ARABIC.open("rb") as f:
        have = {_key(m.id): m for m in read_po(f) if m.id}
    assert len(wanted) > 1000  # the extraction found the app's strings
    missing = sorted(k for k in wanted if k not in have)
    empty = sorted(k for k, m in have.items() if k in wanted and (
        m.fuzzy or not m.string
        or (isinstance(m.string, tuple) and not all(m.string))))
    assert missing == [], "not in the Arabic catalogue (make extract-messages): " + str(missing)
    assert empty == [], "no Arabic yet, or fuzzy: " + str(empty)


def test_placeholders_survive_translation() -> None:
    """A translation keeps the %(name)s placeholders and the {n}/{date} a script fills."""
    with ARABIC.open("rb") as f:
        catalogue = list(read_po(f))
    wrong = []
    for m in catalogue:
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set(re.findall(r"%\(\w+\)[sd]|\{\w+\}", ids[-1]))
        for text in strings:
            if not text:
                continue
            found = set(re.findall(r"%\(\w+\)[sd]|\{\w+\}", text))
            if found - wanted or ({p for p in wanted if p.startswith("{")} - found):
                wrong.append(_key(m.id))
    assert wrong == []
