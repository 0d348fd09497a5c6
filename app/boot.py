"""Start-up for servers: build the app, run every start-up check, or refuse with one line.

``wsgi.py`` (the development server and gunicorn's workers) and ``gunicorn.conf.py`` (gunicorn's
master, before any worker starts) both come here. A refusal is one line on standard error,
``amana: <reason>``, and exit status 2. ``python -m app.boot`` runs the checks and exits (0 when
the app may serve); gunicorn's master runs it in a separate process so that it loads none of
the app itself (its workers then load fresh code on every restart and reload).

Inside a gunicorn worker whose master did not run the checks (gunicorn started without
``gunicorn.conf.py``), a refusal exits with gunicorn's "worker failed to boot" status (3),
which stops the master too instead of it restarting workers forever.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from flask import Flask

from app.config import ConfigError

# Set by gunicorn.conf.py in the master once the checks passed; workers inherit it.
CHECKED_ENV = "AMANA_STARTUP_CHECKED"
GUNICORN_WORKER_BOOT_ERROR = 3


def checked_app() -> Flask:
    """The application, once it may serve: raises ``ConfigError`` (one line) when not."""
    from app import create_app
    from app.security import require_hosts
    from app.startup import check_ready

    app = create_app()
    check_ready(app)
    require_hosts(app)
    return app


def refusal_status() -> int:
    """2; or 3 in a gunicorn worker whose master did not check (so the master stops)."""
    in_gunicorn_worker = "gunicorn.arbiter" in sys.modules
    if in_gunicorn_worker and os.environ.get(CHECKED_ENV) != "1":
        return GUNICORN_WORKER_BOOT_ERROR
    return 2


def refuse(exc: ConfigError, status: int = 2) -> NoReturn:
    """Write the one line and exit."""
    sys.stderr.write(f"amana: {exc.message}\n")
    sys.stderr.flush()
    raise SystemExit(status)


def main() -> int:
    """Run every start-up check and stop: 0 when the app may serve, else 2 with one line."""
    try:
        app = checked_app()
    except ConfigError as exc:
        sys.stderr.write(f"amana: {exc.message}\n")
        return 2
    from app.extensions import db

    with app.app_context():
        db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
