"""The Prometheus metrics (``prometheus-client``) and their exposition.

Labels are codes from closed sets only: endpoint names (the app's URL map, or ``unmatched``),
HTTP methods (a fixed list, else ``OTHER``), status classes (``2xx``...), and short codes for a
failure's kind or step. Never a user id, a record id, a path or anything typed.

Several gunicorn workers: with ``PROMETHEUS_MULTIPROC_DIR`` set in the environment *before* the
workers start (``gunicorn.conf.py`` sets it to ``instance/metrics``), every process writes its
values to files in that folder and a scrape, answered by any one worker, adds them up
(``prometheus_client.multiprocess``). Without it (the development server, tests) the values live
in the process and a scrape also shows its process metrics.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Pages take tens of milliseconds; the slow tail (statistics, exports) seconds.
REQUEST_SECONDS = Histogram(
    "amana_http_request_duration_seconds",
    "Time to answer a request, by route (endpoint name), method and status class.",
    ("route", "method", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
# An append is a locked head row, one MAC and one insert: well under a millisecond unless
# writers queue on the head.
AUDIT_APPEND_SECONDS = Histogram(
    "amana_audit_append_duration_seconds",
    "Time to append one event to the audit chain, waiting for the head lock included.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
DECRYPTION_FAILURES = Counter(
    "amana_decryption_failures",
    "Sealed values that could not be opened (each is also an audit event), by kind: "
    "failed (damaged, tampered or wrong key) or key_destroyed (erased survivor).",
    ("kind",))
LOGIN_FAILURES = Counter(
    "amana_login_failures",
    "Failed sign-in attempts, by step: password, code (second factor) or sso (single sign-on).",
    ("step",))
LOCKOUTS = Counter(
    "amana_lockouts",
    "Accounts locked after too many failures, by step: password or code.",
    ("step",))

for _kind in ("failed", "key_destroyed"):
    DECRYPTION_FAILURES.labels(kind=_kind)
for _step in ("password", "code"):
    LOGIN_FAILURES.labels(step=_step)
    LOCKOUTS.labels(step=_step)
LOGIN_FAILURES.labels(step="sso")


def method_label(method: str) -> str:
    """The request's method, or ``OTHER`` (a client may send any token as a method)."""
    return method if method in METHODS else "OTHER"


def status_class(status: int) -> str:
    """``2xx``, ``3xx``, ``4xx`` or ``5xx``."""
    return f"{min(max(status // 100, 1), 5)}xx"


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """One answered request in the latency histogram."""
    REQUEST_SECONDS.labels(route=route, method=method_label(method),
                           status=status_class(status)).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type: every worker's values in
    multi-process mode, this process's otherwise."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
