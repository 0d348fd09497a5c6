"""Two-step codes, as the authenticator app shows them."""

from __future__ import annotations

import time
from datetime import datetime

import pyotp


def code_at(secret: str, when: datetime) -> str:
    """The code for ``secret`` at ``when`` (the frozen test clock's time)."""
    return pyotp.TOTP(secret).at(when)


def live_code(secret: str) -> str:
    """The code for ``secret`` now, for a server on the real clock (the browser tests). The
    last two seconds of a time step are waited out, so the code is still valid on arrival."""
    while 30 - (time.time() % 30) < 2:
        time.sleep(0.5)
    return pyotp.TOTP(secret).now()
