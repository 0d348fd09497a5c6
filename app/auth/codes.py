"""One-time reset codes an administrator reads out (in person or by phone).

A code is 28 characters from a 32-character alphabet without look-alikes (no 0/O, no 1/I/l:
the letters are upper case, so an ``L`` cannot pass for a one), shown in groups of four joined
by hyphens: ``K7QM-2XPA-9DHN-...``. 28 characters of 5 bits each are 140 bits, above the 128
bits a code that opens an account must carry. What the person types is read back to the same
canonical form: lower case, spaces and hyphens are accepted (``normalise``).
"""

from __future__ import annotations

import math
import secrets

# The recovery codes' alphabet (app/auth/mfa.py): 24 letters without I and O, digits 2-9.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 28
GROUP = 4
BITS = LENGTH * math.log2(len(ALPHABET))
# Separators a person may type (or a phone keyboard may insert) between the groups.
_SEPARATORS = frozenset(" -\u2010\u2011\u2012\u2013\u2014\u2212\t\u00a0\u202f")


def new_reset_code() -> str:
    """A fresh code, grouped for reading aloud: ``ABCD-EFGH-...`` (seven groups of four)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(typed: str) -> str:
    """What was typed, in the form the code was issued in: upper case, grouped with hyphens.

    Spaces and dashes anywhere are ignored and lower case is read as upper case, so
    ``abcd efgh ...`` and ``ABCD-EFGH-...`` are the same code. Anything else is left as typed
    (such a code matches nothing).
    """
    kept = "".join(ch for ch in typed.strip() if ch not in _SEPARATORS).upper()
    return "-".join(kept[i:i + GROUP] for i in range(0, len(kept), GROUP))
