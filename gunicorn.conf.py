"""Gunicorn settings for Amana: ``gunicorn -c gunicorn.conf.py wsgi:app`` (gunicorn also reads
this file by itself when started from this folder).

Before any worker starts, the master runs Amana's start-up checks (``python -m app.boot``: the
settings and keys, the database reachable and migrated, its role unable to get round the audit
triggers, an admin, the host names). When one fails the master exits with status 2 and the one
line saying why, instead of starting workers that fail and are restarted forever. The checks run
in a separate process, so the master loads none of the app and a reload (HUP) still loads new
code in the workers.

Defaults for a host behind a proxy (README *Deployment*); anything given on the command line
(``-w 4 -b 127.0.0.1:8000``) or in ``GUNICORN_CMD_ARGS`` wins over this file:

- workers: ``AMANA_WORKERS``, else ``WEB_CONCURRENCY``, else one per core plus one. Amana's
  requests are CPU-bound (crypto, templates), so more workers than cores plus one only queue on
  the processor and cost memory (about 120 MB each); the load test gives the figures.
- timeouts: a worker silent for ``timeout`` seconds is killed and replaced (the longest page,
  an export or a verification from the page, stays well under it); on a reload or a stop,
  workers get ``graceful_timeout`` seconds to finish the requests they hold.
- the pid file and the control socket (``gunicornc``; owner only) in the instance folder, which
  already holds what only this host's service account may touch;
- ``forwarded_allow_ips``: the proxy's addresses (``AMANA_PROXY_IPS``, comma-separated; default
  this host), the only peers whose ``X-Forwarded-Proto`` gunicorn believes. Amana itself reads
  the forwarded headers of ``AMANA_TRUST_PROXY_HOPS`` proxies (``ProxyFix``), so gunicorn must
  be reachable from the proxy alone: bind to loopback, or firewall the port.
"""

from __future__ import annotations

import os
import subprocess
import sys

CHECK_TIMEOUT_SECONDS = 300


def _instance_folder() -> str:
    """The instance folder as the app finds it (``app._instance_path``), created 0700 if new:
    the master loads none of the app, so it is worked out here again."""
    given = os.environ.get("AMANA_INSTANCE_PATH")
    folder = os.path.abspath(given) if given else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "instance")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return folder


def _workers() -> int:
    given = os.environ.get("AMANA_WORKERS") or os.environ.get("WEB_CONCURRENCY")
    return int(given) if given else (os.cpu_count() or 1) + 1


_INSTANCE = _instance_folder()
workers = _workers()
timeout = 60
graceful_timeout = 30
pidfile = os.path.join(_INSTANCE, "gunicorn.pid")
control_socket = os.path.join(_INSTANCE, "gunicorn.ctl")
control_socket_mode = 0o600
forwarded_allow_ips = os.environ.get("AMANA_PROXY_IPS") or os.environ.get(
    "FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def on_starting(server):  # type: ignore[no-untyped-def]
    """Gunicorn hook, in the master before it binds or forks: refuse to start when Amana may not."""
    try:
        done = subprocess.run([sys.executable, "-m", "app.boot"], check=False,
                              timeout=CHECK_TIMEOUT_SECONDS)
        status = done.returncode
    except subprocess.TimeoutExpired:
        sys.stderr.write(f"amana: the start-up checks did not finish within "
                         f"{CHECK_TIMEOUT_SECONDS} seconds.\n")
        status = 2
    if status != 0:
        sys.stderr.flush()
        if server.pidfile is not None:
            server.pidfile.unlink()
        raise SystemExit(status if status > 0 else 2)
    os.environ["AMANA_STARTUP_CHECKED"] = "1"  # app.boot.CHECKED_ENV, inherited by the workers


# --- Logs and metrics (app/observability) ------------------------------------------------------
# Gunicorn writes no access log unless asked (--access-logfile). When asked, its line must not
# carry what Amana's own request line leaves out: %(U)s is the path without the query string
# (the default format's %(r)s has it, %(f)s the referrer's); no user agent. The path may hold a
# record's id, never personal data (CONTRIBUTING: no personal data in a URL).
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

# Prometheus multi-process mode: every worker writes its metrics to files in this folder and a
# scrape adds them up. Set before any worker imports the app; emptied at each start.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(
    os.environ.get("AMANA_INSTANCE_PATH") or os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "instance"), "metrics"))
# Made now, not in when_ready: the start-up checks (on_starting, before when_ready) import the
# app, whose metrics open their files there at once; a fresh instance has no such folder.
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], mode=0o700, exist_ok=True)


def when_ready(server):  # type: ignore[no-untyped-def]
    """Gunicorn hook, in the master before the first worker starts: empty the metrics folder,
    so the values of a previous run are not added to this one's."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.unlink(os.path.join(folder, name))


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """Gunicorn hook, in the master when a worker exits: its live gauges stop counting (its
    counters and histograms stay in the sums, as Prometheus expects)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
