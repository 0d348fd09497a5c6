"""Amana's log lines: their format (JSON or text) and one line per request.

A request's line (logger ``amana.request``, level INFO) carries exactly: the request id, the
route (the endpoint name, e.g. ``cases.view``) and its rule (the URL pattern, e.g.
``/cases/<uuid:case_id>``), the method, the status, the duration in milliseconds and the id of
the signed-in account (its UUID, set by the guard). Never the raw path or query string, never a
name, note, search term or form value: the fields are built from the URL map and codes only.

The request id is a fresh UUID, or the ``X-Request-ID`` the proxy sent when it is a UUID or 32
hex digits (nginx's ``$request_id``), so the proxy's and Amana's lines can be joined; anything
else is ignored. It goes back in the response's ``X-Request-ID`` and onto every audit event.

Exceptions are logged with their type and the traceback's frames, never their message: an
exception's message can carry a submitted value.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
import uuid
from types import TracebackType
from typing import Any

from flask import Flask, Response, g, request
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

from app.observability.metrics import method_label, observe_request

REQUEST_LOGGER = "amana.request"
LOGGERS = ("amana", "app")  # amana.*: request lines, audit checkpoints; app.*: the app's modules
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
UNMATCHED = "unmatched"  # the route of a request that matched none (a 404 or 405)

log = logging.getLogger(REQUEST_LOGGER)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def request_id_from(value: str | None) -> str:
    """The proxy's request id when it is a safe token (a UUID or 32 hex digits), else a new one."""
    given = (value or "").strip().lower()
    if len(given) <= 36 and _REQUEST_ID_RE.fullmatch(given):
        return given
    return str(uuid.uuid4())


def exception_without_message(exc_info: ExcInfo) -> str:
    """The exception's type and traceback frames (file, line, function), without its message or
    source lines."""
    etype, _value, tb = exc_info
    frames = [f'  File "{f.filename}", line {f.lineno}, in {f.name}'
              for f in traceback.extract_tb(tb)]
    return "\n".join(["Traceback (most recent call last):", *frames,
                      f"{etype.__module__}.{etype.__qualname__} (message withheld)"])


def _without_cached_exception(record: logging.LogRecord) -> logging.LogRecord:
    """A copy of ``record`` without the exception text another handler may have cached on it
    (with the message); ours is made again by ``formatException``."""
    if not record.exc_text:
        return record
    copy = logging.makeLogRecord(record.__dict__)
    copy.exc_text = None
    return copy


class TextFormatter(logging.Formatter):
    """``time level logger message``, in UTC, exceptions without their message; a request's
    line ends with its request id and account id."""

    converter = time.gmtime  # type: ignore[assignment]  # logging's documented way to log in UTC

    def __init__(self) -> None:
        super().__init__("%(asctime)sZ %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(_without_cached_exception(record))
        request_id = getattr(record, "request_id", None)
        if request_id:  # a request's line: its ids too
            line += f" request={request_id} user={getattr(record, 'user_id', None) or '-'}"
        return line

    def formatException(self, ei: Any) -> str:  # noqa: N802  (logging's name)
        return exception_without_message(ei)


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    and the record's extra fields (a request line's ``request_id``, ``route``...)."""

    def __init__(self) -> None:
        super().__init__(["levelname", "name", "message"], timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"})

    def format(self, record: logging.LogRecord) -> str:
        return super().format(_without_cached_exception(record))

    def formatException(self, ei: Any) -> str:  # noqa: N802  (logging's name)
        return exception_without_message(ei)


def make_formatter(kind: str) -> logging.Formatter:
    """The formatter for ``AMANA_LOG_FORMAT`` (``json`` or ``text``)."""
    return JsonLineFormatter() if kind == "json" else TextFormatter()


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]  # generic only in typeshed
    """Writes to whatever ``sys.stderr`` is at the time (gunicorn and test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(app: Flask) -> None:
    """Send the ``amana`` and ``app`` loggers to standard error in the configured format.

    In place of Flask's default handler, and of the one an earlier app in this process installed;
    records then stop there, so a root handler with another format (one that prints exception
    messages) never sees them. With ``LOG_HANDLER`` false (the tests' default) no handler is
    added and records go on to the root logger (pytest's ``caplog``).
    """
    handler: logging.Handler | None = None
    if app.config.get("LOG_HANDLER", True):
        handler = StderrHandler()
        handler.setFormatter(make_formatter(str(app.config.get("LOG_FORMAT", "json"))))
        handler.amana = True  # type: ignore[attr-defined]  # our mark, to find it again
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers
                    if getattr(h, "amana", False) or h is default_handler]:
            logger.removeHandler(old)
        if handler is not None:
            logger.addHandler(handler)
        logger.propagate = handler is None
        # INFO with our handler; without it, whatever the root logger lets through (a test
        # that wants the request lines sets caplog's level).
        logger.setLevel(logging.INFO if handler is not None else logging.NOTSET)


def _route() -> tuple[str, str | None]:
    rule = request.url_rule
    if rule is None or not rule.endpoint:
        return UNMATCHED, None
    return rule.endpoint, rule.rule


def request_fields(response: Response, seconds: float) -> dict[str, Any]:
    """What the request's line says: codes and ids only."""
    route, rule = _route()
    user_id = g.get("user_id")
    return {
        "request_id": g.get("request_id"),
        "route": route,
        "rule": rule,
        "method": method_label(request.method),
        "status": response.status_code,
        "duration_ms": round(seconds * 1000, 1),
        "user_id": str(user_id) if user_id is not None else None,
    }


def install_request_log(app: Flask) -> None:
    """Give every request an id and a timer; write its line and observe its latency."""

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.get("request_started")
        if started is None:  # a before_request hook failed before ours ran
            return response
        seconds = time.perf_counter() - started
        fields = request_fields(response, seconds)
        observe_request(fields["route"], request.method, response.status_code, seconds)
        log.info("%s %s %s %.1fms", fields["method"], fields["route"], fields["status"],
                 fields["duration_ms"], extra=fields)
        response.headers[REQUEST_ID_HEADER] = fields["request_id"]
        return response
