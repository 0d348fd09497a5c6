"""``/metrics``: who may read it, what it counts, and that it names no one.

Access: the local scraper (loopback, no proxy header) or the holder of ``AMANA_METRICS_TOKEN``;
anyone else, signed in or not, gets the 404 of a page that does not exist, including a request
that came through the reverse proxy on the same host (loopback peer, forwarded headers), whatever
it claims in ``X-Forwarded-For``. Content: the route histograms move with requests, the counters
with decryption failures, failed logins and lockouts; labels are endpoint names, methods, status
classes and short codes only.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from app.cases.models import Case
from app.config import ConfigError, build_config
from app.db import db
from app.observability import metrics
from tests.helpers.apps import make_app
from tests.helpers.factories import CANARY, World
from tests.helpers.forms import comparable, csrf_from
from tests.helpers.login import PASSWORD, Auth

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-" + "k3Xq9vLmP2aZ7wRt5yB8nC4dF6gH1jS0"
OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LABELS = {"route", "method", "status", "kind", "step", "le"}


def _scrape(client: Any, **kw: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics", **kw)
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(resp.get_data(as_text=True))
            for s in fam.samples}


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _not_found_like_any_page(resp: Any, client: Any, **kw: Any) -> None:
    """A 404 indistinguishable from a URL that does not exist."""
    other = client.get("/metricz", **kw)
    assert resp.status_code == other.status_code == 404
    assert resp.mimetype == other.mimetype == "text/html"
    body = resp.get_data(as_text=True)

    def same(html: str) -> str:  # each page has its own script nonce and CSRF tokens
        return comparable(html.replace("/metrics", "/metricz"))

    assert same(body) == same(other.get_data(as_text=True))
    assert "amana_" not in body


# --- Access ------------------------------------------------------------------------------------

def test_the_local_scraper_reads_the_metrics_without_a_token(client: Any) -> None:
    client.get("/auth/login")
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert "amana_http_request_duration_seconds_bucket" in resp.get_data(as_text=True)
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


@pytest.mark.parametrize("remote", ["203.0.113.9", "10.0.0.5", "192.168.1.20", "::ffff:10.0.0.1",
                                    "fe80::1"])
def test_anyone_else_without_the_token_gets_404(client: Any, remote: str) -> None:
    resp = client.get("/metrics", environ_base={"REMOTE_ADDR": remote})
    _not_found_like_any_page(resp, client, environ_base={"REMOTE_ADDR": remote})


def test_a_signed_in_user_elsewhere_gets_404(auth: Auth) -> None:
    admin = auth.login("admin")
    admin.environ_base.update(OUTSIDE)
    _not_found_like_any_page(admin.get("/metrics"), admin)


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ",
                                    f"Basic {TOKEN}", TOKEN, f"Bearer  {TOKEN} extra", ""])
def test_a_wrong_token_gets_404_even_on_loopback(db_uri: str, instance_dir: Path, frozen: Any,
                                                 header: str) -> None:
    app = make_app(db_uri, instance_dir, METRICS_TOKEN=TOKEN)
    client = app.test_client()
    for env in ({}, OUTSIDE):
        resp = client.get("/metrics", headers={"Authorization": header}, environ_base=env)
        assert resp.status_code == 404, (header, env)


def test_no_token_is_configured_so_no_token_opens_it(client: Any) -> None:
    resp = client.get("/metrics", headers={"Authorization": "Bearer "}, environ_base=OUTSIDE)
    assert resp.status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                      environ_base=OUTSIDE).status_code == 404


def test_the_right_token_opens_it_from_anywhere(db_uri: str, instance_dir: Path,
                                                frozen: Any) -> None:
    app = make_app(db_uri, instance_dir, METRICS_TOKEN=TOKEN, TRUST_PROXY_HOPS=1)
    client = app.test_client()
    for env, headers in (({}, {}), (OUTSIDE, {}),
                         ({"REMOTE_ADDR": "127.0.0.1"}, {"X-Forwarded-For": "203.0.113.9",
                                                         "X-Forwarded-Proto": "https"})):
        resp = client.get("/metrics", environ_base=env,
                          headers={**headers, "Authorization": f"Bearer {TOKEN}"})
        assert resp.status_code == 200, (env, headers)
        assert "amana_audit_append_duration_seconds" in resp.get_data(as_text=True)


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},  # nginx on this host
    {"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "https"},    # a proxy that replaced it
    {"X-Forwarded-For": "127.0.0.1, 127.0.0.1"},                       # forged, then appended
    {"X-Forwarded-Proto": "https"},                                    # a proxy without XFF
    {"X-Real-IP": "127.0.0.1"},
    {"Forwarded": "for=127.0.0.1;proto=https"},
    {"X-Forwarded-Host": "127.0.0.1"},
])
@pytest.mark.parametrize("hops", [0, 1])
def test_a_request_through_the_proxy_is_never_local(db_uri: str, instance_dir: Path, frozen: Any,
                                                    headers: dict[str, str], hops: int) -> None:
    """The proxy's peer address is loopback; its forwarded headers give it away, trusted
    (``ProxyFix``, as in production) or not."""
    app = make_app(db_uri, instance_dir, TRUST_PROXY_HOPS=hops)
    client = app.test_client()
    resp = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    _not_found_like_any_page(resp, client, headers=headers,
                             environ_base={"REMOTE_ADDR": "127.0.0.1"})


def test_the_token_setting_is_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AMANA_METRICS_TOKEN", "short")
    with pytest.raises(ConfigError, match="AMANA_METRICS_TOKEN must be at least 32") as err:
        build_config("production", tmp_path, keys=False)
    assert "short" not in str(err.value)
    monkeypatch.setenv("AMANA_METRICS_TOKEN", "a" * 31 + " b")
    with pytest.raises(ConfigError):
        build_config("development", tmp_path, keys=False)
    monkeypatch.setenv("AMANA_METRICS_TOKEN", TOKEN)
    assert build_config("development", tmp_path, keys=False)["METRICS_TOKEN"] == TOKEN
    monkeypatch.delenv("AMANA_METRICS_TOKEN")
    assert build_config("development", tmp_path, keys=False)["METRICS_TOKEN"] is None


# --- Content -----------------------------------------------------------------------------------

def test_the_route_histogram_counts_requests(auth: Auth, client: Any) -> None:
    worker = auth.login("caseworker")
    before = _scrape(client)
    for _ in range(3):
        assert worker.get("/cases/", query_string={"page": "1"}).status_code == 200
    worker.get(f"/cases/{uuid.uuid4()}")  # not the caseworker's: a 404, on its route
    after = _scrape(client)
    name = "amana_http_request_duration_seconds_count"
    assert _value(after, name, route="cases.index", method="GET", status="2xx") \
        - _value(before, name, route="cases.index", method="GET", status="2xx") == 3
    assert _value(after, name, route="cases.view", method="GET", status="4xx") \
        - _value(before, name, route="cases.view", method="GET", status="4xx") == 1
    appends = "amana_audit_append_duration_seconds_count"
    assert _value(after, appends) - _value(before, appends) >= 4  # each page recorded a read


def test_labels_name_no_one(app: Flask, auth: Auth, world: World, client: Any) -> None:
    # The registry is the process's: forget routes that other tests' apps (with test-only
    # endpoints) observed, so every route label below comes from this app's requests.
    metrics.REQUEST_SECONDS.clear()
    worker = auth.login("caseworker")
    worker.get("/no-such-page", query_string={"name": CANARY["own_name"]})
    worker.open("/cases/", method="AMINA")
    body = client.get("/metrics").get_data(as_text=True)
    endpoints = {r.endpoint for r in app.url_map.iter_rules()} | {"unmatched"}
    for family in text_string_to_metric_families(body):
        if not family.name.startswith("amana_"):
            continue
        for sample in family.samples:
            assert set(sample.labels) <= LABELS, sample
            if "route" in sample.labels:
                assert sample.labels["route"] in endpoints, sample
                assert sample.labels["method"] in ("GET", "HEAD", "POST", "PUT", "PATCH",
                                                   "DELETE", "OPTIONS", "OTHER"), sample
                assert re.fullmatch(r"[1-5]xx", sample.labels["status"]), sample
    assert "AMINA" not in body and 'method="OTHER"' in body
    assert not UUID_RE.search(body) and "/cases" not in body
    for canary in CANARY.values():
        assert canary not in body
    for user_id in world.users.values():
        assert user_id not in body


def test_failed_logins_and_lockouts_are_counted(app: Flask, auth: Auth, client: Any) -> None:
    before = _scrape(client)
    stranger = app.test_client()
    for _ in range(app.config["LOGIN_ACCOUNT_MAX_FAILURES"]):
        page = stranger.get("/auth/login").get_data(as_text=True)
        stranger.post("/auth/login", data={"username": "caseworker2", "password": "wrong",
                                           "csrf_token": csrf_from(page)})
    after = _scrape(client)
    failures, lockouts = "amana_login_failures_total", "amana_lockouts_total"
    limit = app.config["LOGIN_ACCOUNT_MAX_FAILURES"]
    assert _value(after, failures, step="password") - _value(before, failures, step="password") \
        == limit
    assert _value(after, lockouts, step="password") - _value(before, lockouts, step="password") == 1

    worker = app.test_client()
    page = worker.get("/auth/login").get_data(as_text=True)
    worker.post("/auth/login", data={"username": "caseworker", "password": PASSWORD,
                                     "csrf_token": csrf_from(page)})
    page = worker.get("/auth/mfa").get_data(as_text=True)
    worker.post("/auth/mfa", data={"code": "000000", "csrf_token": csrf_from(page)})
    final = _scrape(client)
    assert _value(final, failures, step="code") - _value(after, failures, step="code") == 1
    assert _value(final, failures, step="password") == _value(after, failures, step="password")


def test_decryption_failures_are_counted(app: Flask, auth: Auth, world: World,
                                         client: Any) -> None:
    """One byte of a case's sealed name changed, as someone with the database would."""
    case_id = uuid.UUID(world.ids["case_own"])
    cases = Case.__table__
    with app.app_context():
        blob = db.session.execute(select(cases.c.full_name_sealed)
                                  .where(cases.c.id == case_id)).scalar_one()
        db.session.execute(update(cases).where(cases.c.id == case_id).values(
            full_name_sealed=blob[:-1] + bytes([blob[-1] ^ 0x01])))
        db.session.commit()
    before = _scrape(client)
    worker = auth.login("caseworker")
    assert worker.get(f"/cases/{case_id}").status_code == 200  # the page shows the rest
    after = _scrape(client)
    name = "amana_decryption_failures_total"
    assert _value(after, name, kind="failed") - _value(before, name, kind="failed") == 1
    assert _value(after, name, kind="key_destroyed") == _value(before, name, kind="key_destroyed")


def test_each_noted_failure_counts_once_like_its_audit_event(app: Flask, client: Any) -> None:
    from app.crypto.failures import failed, pending_count

    before = _scrape(client)
    record_id = uuid.uuid4()
    with app.test_request_context():
        failed("cases", record_id, "full_name:auth_failed")
        failed("cases", record_id, "full_name:auth_failed")  # the same value met twice
        failed("cases", record_id, "key_destroyed", destroyed=True)
        assert pending_count() == 2  # two audit events when the request ends
    after = _scrape(client)
    name = "amana_decryption_failures_total"
    assert _value(after, name, kind="failed") - _value(before, name, kind="failed") == 1
    assert _value(after, name, kind="key_destroyed") \
        - _value(before, name, kind="key_destroyed") == 1


# --- Several workers ---------------------------------------------------------------------------

def _python(code: str, folder: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout


def test_workers_values_are_added_up_in_multiprocess_mode(tmp_path: Path) -> None:
    """Two processes (gunicorn's workers) observe; a third (the one a scrape reaches) reports
    both, from the folder ``PROMETHEUS_MULTIPROC_DIR`` names."""
    observe = ("from app.observability.metrics import observe_request; "
               "observe_request('cases.view', 'GET', 200, 0.02)")
    _python(observe, tmp_path)
    _python(observe, tmp_path)
    body = _python("from app.observability.metrics import exposition; "
                   "print(exposition()[0].decode())", tmp_path)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(body) for s in fam.samples}
    key = ("amana_http_request_duration_seconds_count",
           (("method", "GET"), ("route", "cases.view"), ("status", "2xx")))
    assert samples[key] == 2.0


def test_gunicorn_config_empties_the_metrics_folder_and_marks_dead_workers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert "%(U)s" in conf["access_log_format"]
    assert "%(r)s" not in conf["access_log_format"] and "%(f)s" not in conf["access_log_format"]
    assert folder.is_dir()  # made when named: the start-up checks import the app before when_ready
    (folder / "counter_123.db").write_bytes(b"old")
    (folder / "keep.txt").write_text("not ours")
    conf["when_ready"](None)
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    (folder / "gauge_livesum_77.db").write_bytes(b"")
    conf["child_exit"](None, type("Worker", (), {"pid": 77})())
    assert not (folder / "gauge_livesum_77.db").exists()


def test_gunicorn_config_puts_the_folder_under_the_instance(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "unset after the test")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    monkeypatch.setenv("AMANA_INSTANCE_PATH", str(tmp_path))
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "metrics")
