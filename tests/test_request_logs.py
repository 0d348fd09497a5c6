"""The logs of a whole journey carry no survivor data, and each request's line says what it must.

Canary values go into everything a user types (a survivor's name, alias, phone, location, a case
note, a safe-space session's notes, search terms, a username at a failed login, a query string,
an ``X-Request-ID``) while a caseworker and a safe-space coordinator do their common work. Every
log record, at DEBUG, as the JSON and the text formatter write it, must be free of them; each
request's line must carry its request id, route name and rule, method, status, duration and the
signed-in account's id, and never a path or a query string.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from flask import Flask

from app.config import ConfigError, build_config
from app.observability.logs import (
    REQUEST_LOGGER,
    JsonLineFormatter,
    TextFormatter,
    request_id_from,
)
from tests.helpers.apps import make_app
from tests.helpers.cases import case_id_from, give_consent, open_case, search_cases
from tests.helpers.factories import World
from tests.helpers.forms import csrf_from, form_tokens
from tests.helpers.login import Auth
from tests.helpers.safe_space import COORDINATOR, post_session

NEW = {"full_name": "Rania Logcanaryvk", "alias": "Rara Logcanaryvk", "phone": "+218 91 616 4848",
       "location": "LogCanary-Tent-81", "safe_contact": "LogCanary-Safe-Contact"}
NOTE = "LogCanary note: she fears the cousin"
SESSION_NOTES = "LogCanary session: a participant disclosed"
TYPED = [*NEW.values(), NOTE, SESSION_NOTES, "Logcanaryvk", "616 4848", "LogCanary",
         "QueryCanaryzz", "HeaderCanaryzz"]
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FIELDS = ("request_id", "route", "rule", "method", "status", "duration_ms", "user_id")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)  # driver traffic is not app logging
    return caplog


def _journey(app: Flask, auth: Auth, world: World) -> dict[str, str]:
    """A caseworker's and a coordinator's common actions, canaries in every typed value."""
    anonymous = app.test_client()
    page = anonymous.get("/auth/login").get_data(as_text=True)
    anonymous.post("/auth/login", data={"username": NEW["full_name"], "password": NEW["alias"],
                                        "csrf_token": csrf_from(page)})
    worker = auth.login("caseworker")
    created = open_case(worker, world, **NEW)  # searches the name first, then the intake
    case_id = case_id_from(created)
    assert NEW["full_name"] in worker.get(f"/cases/{case_id}").get_data(as_text=True)
    assert give_consent(worker, case_id).status_code == 302
    page = worker.get(f"/cases/{case_id}").get_data(as_text=True)
    noted = worker.post(f"/cases/{case_id}/notes",
                        data={"body": NOTE, **form_tokens(page, f"/cases/{case_id}/notes")})
    assert noted.status_code in (200, 302), noted.status_code
    search_cases(worker, name=NEW["alias"], phone=NEW["phone"])
    listed = worker.get("/cases/", query_string={"page": "1", "q": "QueryCanaryzz"},
                        headers={"X-Request-ID": "HeaderCanaryzz"})
    assert listed.status_code == 200
    worker.get("/no-such-page", query_string={"name": "QueryCanaryzz"})  # unmatched: a 404
    coordinator = auth.login(COORDINATOR)
    logged = post_session(coordinator, app, world, notes=SESSION_NOTES)
    assert logged.status_code == 302, logged.status_code
    return {"case_id": case_id}


def _request_lines(records: list[logging.LogRecord]) -> list[dict[str, Any]]:
    formatter = JsonLineFormatter()
    return [json.loads(formatter.format(r)) for r in records if r.name == REQUEST_LOGGER]


def test_a_whole_journey_logs_no_typed_value_and_a_full_line_per_request(
        app: Flask, auth: Auth, world: World, logs: pytest.LogCaptureFixture) -> None:
    seen = _journey(app, auth, world)
    records = list(logs.records)
    assert records, "the journey logged nothing at all"
    as_json = "\n".join(JsonLineFormatter().format(r) for r in records)
    as_text = "\n".join(TextFormatter().format(r) for r in records)
    for where, text in (("the JSON log", as_json), ("the text log", as_text),
                        ("the captured log", logs.text)):
        for canary in TYPED:
            assert canary.casefold() not in text.casefold(), f"{canary!r} reached {where}"
        assert "?" not in text and "page=" not in text, f"a query string reached {where}"
        assert f"/cases/{seen['case_id']}" not in text, f"a raw path reached {where}"

    lines = _request_lines(records)
    for line in lines:
        assert set(FIELDS) <= set(line), line
        assert UUID_RE.fullmatch(line["request_id"]), line
        assert isinstance(line["status"], int) and isinstance(line["duration_ms"], float)
        assert line["method"] in ("GET", "POST")
        assert line["rule"] is None or line["rule"].startswith("/"), line
    routes = {line["route"] for line in lines}
    assert {"auth.login", "auth.mfa", "cases.search_cases", "cases.new", "cases.view",
            "cases.index", "cases.note", "safe_space.new_session", "unmatched"} <= routes, routes
    assert len({line["request_id"] for line in lines}) == len(lines)  # one id per request
    views = [ln for ln in lines if ln["route"] == "cases.view"]
    assert views and all(ln["rule"] == "/cases/<uuid:case_id>" for ln in views)
    # Pages behind the login carry the account's id (its UUID, never its name).
    workers = {world.users["caseworker"], world.users[COORDINATOR]}
    signed_in = [ln for ln in lines if ln["route"].startswith(("cases.", "safe_space."))]
    assert signed_in and {ln["user_id"] for ln in signed_in} <= workers
    assert {ln["user_id"] for ln in signed_in} == workers
    assert all(ln["user_id"] is None for ln in lines if ln["route"] == "auth.login")
    for username in ("caseworker", COORDINATOR):
        assert f'"{username}"' not in as_json


def test_the_request_line_names_the_route_not_the_path(app: Flask, auth: Auth,
                                                       logs: pytest.LogCaptureFixture) -> None:
    worker = auth.login("caseworker")
    logs.clear()
    resp = worker.get("/cases/", query_string={"status": "open"})
    assert resp.status_code == 200
    (line,) = _request_lines(logs.records)
    assert (line["route"], line["rule"], line["method"], line["status"]) == (
        "cases.index", "/cases/", "GET", 200)
    assert line["message"] == f"GET cases.index 200 {line['duration_ms']:.1f}ms"
    assert resp.headers["X-Request-ID"] == line["request_id"]
    text = TextFormatter().format(logs.records[0])
    assert text.endswith(f" INFO amana.request GET cases.index 200 {line['duration_ms']:.1f}ms "
                         f"request={line['request_id']} user={line['user_id']}")


def test_the_proxy_request_id_is_kept_only_when_it_is_a_safe_token() -> None:
    nginx = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    given = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    assert request_id_from(nginx) == nginx
    assert request_id_from(given) == given.lower()
    for unsafe in ("Amina Logcanary", "x" * 32, nginx + "0", "", None, "../../etc", "1;DROP",
                   nginx + " x", given + given):
        made = request_id_from(unsafe)
        assert UUID_RE.fullmatch(made) and made != (unsafe or "").strip().lower(), unsafe


def test_the_id_the_proxy_gave_is_on_the_line_and_the_answer(
        client: Any, logs: pytest.LogCaptureFixture) -> None:
    nginx = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    resp = client.get("/auth/login", headers={"X-Request-ID": nginx})
    assert resp.headers["X-Request-ID"] == nginx
    assert [ln["request_id"] for ln in _request_lines(logs.records)] == [nginx]


def test_an_exception_is_logged_without_its_message(logs: pytest.LogCaptureFixture) -> None:
    try:
        raise ValueError(f"could not save {NEW['full_name']}")
    except ValueError:
        logging.getLogger("app.test").exception("save failed")
    record = logs.records[-1]
    for formatter in (JsonLineFormatter(), TextFormatter()):
        out = formatter.format(record)
        assert "ValueError (message withheld)" in out and "test_request_logs.py" in out
        assert "Logcanaryvk" not in out


def test_json_lines_reach_standard_error(db_uri: str, instance_dir: Any, frozen: Any,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """With the handler on (every environment but the tests), each request is one JSON line."""
    app = make_app(db_uri, instance_dir, LOG_HANDLER=True, LOG_FORMAT="json")
    try:
        app.test_client().get("/auth/login", query_string={"next": "/cases/?q=QueryCanaryzz"})
        err = capsys.readouterr().err
    finally:
        make_app(db_uri, instance_dir)  # the next apps take the handler away again
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    ours = [x for x in lines if x.get("logger") == REQUEST_LOGGER]
    assert len(ours) == 1 and ours[0]["route"] == "auth.login" and ours[0]["status"] == 200
    assert {"time", "level", "message", *FIELDS} <= set(ours[0])
    assert "QueryCanaryzz" not in err and "next=" not in err


def test_the_log_format_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("AMANA_LOG_FORMAT", raising=False)
    assert build_config("testing", tmp_path, keys=False)["LOG_FORMAT"] == "text"
    monkeypatch.setenv("AMANA_LOG_FORMAT", "JSON")
    assert build_config("development", tmp_path, keys=False)["LOG_FORMAT"] == "json"
    monkeypatch.setenv("AMANA_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="AMANA_LOG_FORMAT must be one of json, text"):
        build_config("development", tmp_path, keys=False)


def test_the_development_server_writes_no_raw_request_line(
        logs: pytest.LogCaptureFixture) -> None:
    """Werkzeug's own line would name the path with its query string."""
    from app.security import QuietRequestHandler

    handler = QuietRequestHandler.__new__(QuietRequestHandler)
    handler.requestline = "GET /cases/?q=QueryCanaryzz HTTP/1.1"
    handler.path, handler.command = "/cases/?q=QueryCanaryzz", "GET"
    handler.client_address = ("127.0.0.1", 50000)
    handler.log_request(200, 512)
    assert "QueryCanaryzz" not in logs.text
