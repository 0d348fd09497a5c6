"""Security headers, caching, error pages, request limits, health and the language layout."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import db
from tests.helpers.apps import HOST, make_app, production_app
from tests.helpers.forms import csrf_from

CSP_PARTS = ("default-src 'none'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'",
             "style-src 'self'", "form-action 'self'")


def _nonce(resp) -> str:
    return re.search(r"'nonce-([^']+)'", resp.headers["Content-Security-Policy"]).group(1)


def test_headers_on_public_page(client):
    r = client.get("/auth/login")
    csp = r.headers["Content-Security-Policy"]
    for part in CSP_PARTS:
        assert part in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in r.headers  # development/testing only over http


def test_nonce_is_fresh_per_request_and_used_on_scripts_only(auth, world):
    c = auth.login("caseworker")
    a, b = c.get("/"), c.get("/")
    assert _nonce(a) != _nonce(b)
    html = a.get_data(as_text=True)
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(f'nonce="{_nonce(a)}"' in s and "src=" in s for s in scripts)
    assert not re.search(r"<script[^>]*>[^<]+</script>", html)  # no inline script
    assert "style=" not in html and "<style" not in html          # no inline style
    assert a.headers["Cache-Control"] == "no-store"


def test_production_app_sends_hsts_and_the_security_headers(db_uri, instance_dir, monkeypatch):
    # A real production app (production settings, keys from the environment), not a flag.
    app = production_app(db_uri, instance_dir, monkeypatch)
    r = app.test_client().get("/auth/login", base_url=f"https://{HOST}")
    assert r.status_code == 200
    assert r.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    csp = r.headers["Content-Security-Policy"]
    assert all(part in csp for part in CSP_PARTS) and "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Cache-Control"] == "no-store"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-amana=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Path=/" in cookie and "Domain=" not in cookie


def test_production_forms_post_with_what_a_browser_sends(db_uri, instance_dir, monkeypatch):
    # Over HTTPS the CSRF check wants a same-origin Referer. The page's own Referrer-Policy
    # decides whether a browser sends one: under "same-origin" it sends the page's URL to its
    # own origin (and nothing elsewhere); under "no-referrer" it sends nothing, and every form
    # of a production instance was refused (found by the load test, issue 17).
    app = production_app(db_uri, instance_dir, monkeypatch)
    c = app.test_client()
    base = f"https://{HOST}"
    page = c.get("/auth/login", base_url=base)
    assert page.headers["Referrer-Policy"] == "same-origin"
    form = {"username": "nobody-here", "password": "not the password",
            "csrf_token": csrf_from(page.get_data(as_text=True))}
    sent = c.post("/auth/login", data=form, base_url=base,
                  headers={"Referer": f"{base}/auth/login"})
    assert sent.status_code == 200 and "Those details did not work" in sent.get_data(as_text=True)
    # What "no-referrer" made browsers send (no Referer), and a cross-site Referer: refused.
    page = c.get("/auth/login", base_url=base)
    form["csrf_token"] = csrf_from(page.get_data(as_text=True))
    assert c.post("/auth/login", data=form, base_url=base).status_code == 400
    assert c.post("/auth/login", data=form, base_url=base,
                  headers={"Referer": "https://elsewhere.example/"}).status_code == 400


def test_static_files_are_cacheable_and_public(client):
    r = client.get("/static/css/amana.css")
    assert r.status_code == 200 and "max-age" in r.headers["Cache-Control"]


@pytest.mark.parametrize("path,method,code", [
    ("/no/such/page", "GET", 404),
    ("/healthz", "POST", 405),
    ("/admin/users", "GET", 403),
])
def test_error_pages_in_layout(auth, world, path, method, code):
    c = auth.login("caseworker")
    r = c.open(path, method=method)
    assert r.status_code == code
    html = r.get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in html and "Lock now" in html
    assert "Traceback" not in html and "werkzeug" not in html.lower()


def test_400_csrf_page(client):
    r = client.post("/auth/login", data={"username": "a", "password": "b"})
    assert r.status_code == 400 and "form has expired" in r.get_data(as_text=True)


def test_413_request_too_large(client):
    page = client.get("/auth/login").get_data(as_text=True)
    r = client.post("/auth/login", data={"username": "x" * 300_000, "password": "p",
                                         "csrf_token": csrf_from(page)})
    assert r.status_code == 413 and "Too large" in r.get_data(as_text=True)


def test_500_shows_no_internals_and_keeps_nothing(app, auth, world):
    @app.get("/__boom")
    def boom():
        raise RuntimeError("secret internal detail survivor-name-canary")

    from app.auth.policy import authenticated

    authenticated(boom)
    c = auth.login("caseworker")
    r = c.get("/__boom")
    assert r.status_code == 500
    html = r.get_data(as_text=True)
    assert "secret internal detail" not in html and "canary" not in html
    assert "Something went wrong" in html


def test_oversized_field_is_refused_cleanly(client):
    page = client.get("/auth/login").get_data(as_text=True)
    r = client.post("/auth/login", data={"username": "u" * 100, "password": "p",
                                         "csrf_token": csrf_from(page)})
    assert r.status_code == 200 and "Field cannot be longer than 64" in r.get_data(as_text=True)


def test_health_ok_and_unavailable(app, db_uri, instance_dir, tmp_path):
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.get_data(as_text=True) == "ok\n"
    broken = make_app(f"sqlite:///{tmp_path}/missing-dir/x.db", instance_dir)
    r = broken.test_client().get("/healthz")
    assert r.status_code == 503 and r.get_data(as_text=True) == "unavailable\n"
    assert "sqlite" not in r.get_data(as_text=True).lower()


def test_arabic_layout_is_right_to_left(client):
    r = client.get("/auth/login", headers={"Accept-Language": "ar"})
    assert '<html lang="ar" dir="rtl">' in r.get_data(as_text=True)


def test_language_switch_is_a_post_and_sticks(client):
    page = client.get("/auth/login").get_data(as_text=True)
    r = client.post("/language", data={"lang": "ar", "next": "/auth/login",
                                       "csrf_token": csrf_from(page)})
    assert r.status_code == 302 and r.location.endswith("/auth/login")
    assert 'dir="rtl"' in client.get("/auth/login").get_data(as_text=True)
    r = client.post("/language", data={"lang": "en", "next": "https://evil.example/",
                                       "csrf_token": csrf_from(page)})
    assert "evil" not in r.location


def test_css_uses_logical_properties_only():
    from pathlib import Path

    css = (Path(__file__).resolve().parent.parent / "app/static/css/amana.css").read_text()
    physical = re.findall(r"(?<![-\w])(margin|padding|border)-(left|right)\b|(?<![-\w])(left|right)\s*:|"
                          r"text-align:\s*(left|right)|float:\s*(left|right)", css)
    assert physical == []


def test_denied_request_is_audited(app, auth, world):
    c = auth.login("caseworker")
    assert c.get("/admin/users").status_code == 403
    with app.app_context():
        ev = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "access.denied")).scalars().one()
    assert ev.outcome == "denied" and ev.object_id == "admin.users" and ev.actor_role == "caseworker"
