"""WSGI entry point (gunicorn ``wsgi:app``) and ``python wsgi.py`` for the local demo server.

Start-up problems (bad settings, missing keys, an unreachable database, a database behind on
migrations, a database role that could get round the audit triggers, demo accounts in
production, no ``AMANA_ALLOWED_HOSTS`` in production) end the process with one line on
standard error and exit status 2 (``app/boot.py``). Under gunicorn, ``gunicorn.conf.py`` runs
the same checks in the master first, so the master itself exits with that line.

Neither server announces its version: the development server here sends no ``Server`` header,
and gunicorn sends ``Server: gunicorn`` without one (a TLS proxy in front, such as nginx, drops
the upstream's ``Server`` header by default; set ``server_tokens off`` there for its own).
"""

from __future__ import annotations

import os

from app.boot import checked_app, refusal_status, refuse
from app.config import ConfigError
from app.security import QuietRequestHandler

try:
    app = checked_app()
except ConfigError as exc:
    refuse(exc, refusal_status())

if __name__ == "__main__":
    import logging

    from werkzeug.serving import run_simple

    host = os.environ.get("AMANA_HOST", "127.0.0.1")
    port = int(os.environ.get("AMANA_PORT", "5000"))
    # Werkzeug's banner and its line per request (a path with its query string, which may hold
    # a search) stay out of the terminal: the one line below says where to go. Its errors (a
    # port already in use) still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"Amana is serving on http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False,
               request_handler=QuietRequestHandler)
