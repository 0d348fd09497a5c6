"""Name keys: one short key per name part, the same for Arabic and Latin spellings of it.

A pure function module (no keys, no database): the keys are computed from the plaintext before
blind indexing (``app.crypto.blind_index.NAME_PART``), so the index holds only truncated keyed
digests of them, never the keys.

``name_parts("Fatima Al-Test")`` gives the whole name parts after ``normalise_text``, with the
article (``al``, ``el``, ``ال``) joined to its word and ``abd``/``abu``-style first halves joined
to theirs (``عبد الله`` and ``Abdullah`` are one part); connectors (``bin``, ``ibn``, ``bint``,
``بن``) are left out.

``name_key(part)`` reduces a part to a consonant skeleton shared by its usual spellings:

1. Arabic letters are transliterated to one Latin letter each (``ح`` and ``ه`` to h, ``ط`` and
   ``ت`` and ``ث`` to t, ``ص`` and ``س`` to s, ``ض``/``د``/``ذ`` to d, ``ظ``/``ز`` to z, ``ق``
   and ``ك`` to k, ``خ`` to x, ``ش`` to c, ``غ`` to g, ``ج`` to j); Latin digraphs the same way
   (kh → x, sh/ch → c, gh → g, th → t, dh → d, dj → j, ph → f; lone g → j, q and c → k).
2. Doubled letters become one (shadda is not written in Latin: ``mm`` in Mohammed).
3. A leading article (``al``/``el``/``ال``) is dropped when a word with a consonant follows,
   and the ``l`` of ``abd al-`` / ``abdul`` / ``abdel`` likewise.
4. Vowels and the letters that are written as vowels are dropped: a e i o u y w, and alef,
   waw, yeh, ain and hamza on the Arabic side (the long vowels of محمود are و and ا).
5. A final h is dropped (taa marbuta: فاطمة, Fatimah, Fatima).

So Fatima, Fatma, Fatimah, Fatemeh and فاطمة are all ``ftm``; Mohammed, Muhammad, Mohamed and
محمد are ``mhmd``; Khadija, Khadidja and خديجة ``xdj``. A part that reduces to nothing (``Aya``)
has no key. Keys are coarse on purpose: they find candidates, which the search ranks and the
caseworker checks; they are no proof that two names are the same.
"""

from __future__ import annotations

from app.crypto.normalise import normalise_text

# Arabic (after normalise_text: alef forms unified, ة → ه, ى → ي, marks removed) to Latin.
# Letters mapped to "" are read as vowels.
_ARABIC = {
    "ا": "a", "ء": "", "ب": "b", "ت": "t", "ث": "t", "ج": "j", "ح": "h", "خ": "x",
    "د": "d", "ذ": "d", "ر": "r", "ز": "z", "س": "s", "ش": "c", "ص": "s", "ض": "d",
    "ط": "t", "ظ": "z", "ع": "", "غ": "g", "ف": "f", "ق": "k", "ك": "k", "ل": "l",
    "م": "m", "ن": "n", "ه": "h", "و": "u", "ي": "i", "پ": "b", "چ": "c", "ڤ": "f", "گ": "j",
}
# Latin digraphs first (longest match), then single letters.
_DIGRAPHS = {"kh": "x", "sh": "c", "ch": "c", "gh": "g", "th": "t", "dh": "d", "dj": "j",
             "ph": "f"}
_SINGLE = {"q": "k", "c": "k", "g": "j", "x": "ks", "v": "f", "p": "b"}
_VOWELS = frozenset("aeiouyw")
ARTICLES = frozenset({"al", "el", "ال"})
# First halves of compound names, joined to the word that follows.
PREFIXES = frozenset({"abd", "abdul", "abdel", "abdal", "abdoul", "abdu", "abdur", "abdar", "abo",
                      "abu", "abou", "عبد", "ابو"})
CONNECTORS = frozenset({"bin", "ben", "ibn", "bint", "bent", "بن", "ابن", "بنت"})
_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018\u02bc\u02bf\u02be`")
MIN_KEY = 1  # shortest key kept (a one-consonant name such as Ali still finds Ali)


def name_parts(value: str) -> list[str]:
    """The whole name parts of ``value``, normalised, compounds joined (see module docstring)."""
    # Apostrophes mark an ain or a hamza inside a word (Sa'id, Ja’far): not a word break.
    words = normalise_text(value.translate(_APOSTROPHES)).split()
    parts: list[str] = []
    carry = ""
    for word in words:
        if word in CONNECTORS and not carry:
            continue
        if word in ARTICLES or word in PREFIXES:
            carry += word
            continue
        parts.append(carry + word)
        carry = ""
    if carry:  # a trailing article or prefix on its own ("Abu") is a part of its own
        parts.append(carry)
    return list(dict.fromkeys(parts))


def _latin(part: str) -> str:
    """The part as Latin letters: Arabic letters transliterated one by one, Latin digraphs
    reduced to one letter (never across an Arabic letter: ك then ه is k h, not kh)."""
    out: list[str] = []
    i = 0
    while i < len(part):
        c = part[i]
        if c in _ARABIC:
            out.append(_ARABIC[c])
            i += 1
            continue
        pair = part[i:i + 2]
        if pair in _DIGRAPHS:
            out.append(_DIGRAPHS[pair])
            i += 2
            continue
        out.append(_SINGLE.get(c, c))
        i += 1
    return "".join(out)


def _collapse(text: str) -> str:
    """Doubled letters as one (shadda is not written in Latin: Mohammed, محمد)."""
    out: list[str] = []
    for c in text:
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _strip_article(latin: str) -> str:
    """Drop a leading al/el before a word with a consonant (Alhassan, الحسن, al-Zawi; not Ali,
    Alia, Alaa)."""
    rest = latin[2:]
    consonants = [c for c in rest if c not in _VOWELS]
    return rest if latin[:2] in ("al", "el") and consonants else latin


def name_key(part: str) -> str:
    """The consonant skeleton of one name part ("" when nothing is left)."""
    latin = _latin(normalise_text(part).replace(" ", ""))
    latin = "".join(c for c in latin if c.isascii() and c.isalnum())
    skeleton = "".join(c for c in _strip_article(_collapse(latin)) if c not in _VOWELS)
    # abd al-X, abdul X, abdel X: the article's l after "bd" (only before a longer rest).
    if skeleton.startswith("bdl") and len(skeleton) > 4:
        skeleton = "bd" + skeleton[3:]
    if len(skeleton) > 1 and skeleton.endswith("h"):
        skeleton = skeleton[:-1]
    return skeleton if len(skeleton) >= MIN_KEY else ""


def name_keys(value: str) -> list[str]:
    """The distinct keys of every part of ``value`` (a full name or an alias), in order."""
    return list(dict.fromkeys(k for p in name_parts(value) if (k := name_key(p))))
