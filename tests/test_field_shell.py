"""The offline field intake's pages: the shell (cached on the device, so nothing about who
opened it), its rules rendered from the forms' own declarations, the setup and the service
worker. The browser side is proved in ``tests/browser/test_browser_field.py``."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from sqlalchemy import select

from app.audit.actions import Action
from app.audit.models import AuditEvent
from app.db import db

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "app" / "static" / "js" / "field-sw.js"


def _allowlist() -> list[str]:
    text = WORKER.read_text()
    block = re.search(r"const ALLOW = \[(.*?)\];", text, re.S)
    assert block
    return re.findall(r'"([^"]+)"', block.group(1))


def _without_nonce(html: str) -> str:
    return re.sub(r'nonce="[^"]+"', 'nonce=""', html)


def test_field_redirects_to_the_shell_in_the_users_language(auth, world):
    c = auth.login("caseworker")
    r = c.get("/field/")
    assert r.status_code == 302 and r.location.endswith("/field/shell/en")
    page = c.get("/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    c.post("/language", data={"lang": "ar", "csrf_token": token, "next": "/"})
    r = c.get("/field/")
    assert r.status_code == 302 and r.location.endswith("/field/shell/ar")


def test_shell_is_in_its_own_language_whatever_the_sessions(auth, world):
    c = auth.login("caseworker")
    en, ar = c.get("/field/shell/en"), c.get("/field/shell/ar")
    assert en.status_code == ar.status_code == 200
    assert '<html lang="en" dir="ltr">' in en.get_data(as_text=True)
    html = ar.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "Answer this question." not in html  # the messages are in Arabic too
    assert 'href="/field/shell/en"' in html and 'href="/field/shell/ar"' in en.get_data(as_text=True)
    assert c.get("/field/shell/fr").status_code == 404


def test_shell_holds_nothing_about_who_opened_it(auth, world):
    one = auth.login("caseworker").get("/field/shell/en").get_data(as_text=True)
    two = auth.login("caseworker2").get("/field/shell/en").get_data(as_text=True)
    assert _without_nonce(one) == _without_nonce(two)
    for secret in ("Test caseworker", "csrf", world.users["caseworker"], "caseworker"):
        assert secret not in one
    assert 'autocomplete="off"' in one
    assert not re.search(r"<script[^>]*>[^<]+</script>", one) and "style=" not in one


def test_shell_renders_the_fields_declared_rules_and_messages(auth, world):
    html = auth.login("caseworker").get("/field/shell/en").get_data(as_text=True)
    date = re.search(r'<input[^>]*id="incident-incident_date"[^>]*>', html).group(0)
    assert "data-not-future" in date and 'data-not-future-message="This date is in the future."' in date
    assert "required" in date
    services = re.findall(r'<input[^>]*name="consent-services"[^>]*>', html)
    assert len(services) == 2
    for radio in services:
        assert 'data-must-be="yes"' in radio and "data-must-be-message=" in radio
        assert "required" in radio and 'data-required-message="Answer this question."' in radio
    penetration = re.findall(r'<input[^>]*name="incident-penetration"[^>]*>', html)
    assert penetration and all("required" in r for r in penetration)
    name = re.search(r'<input[^>]*id="person-full_name"[^>]*>', html).group(0)
    assert 'maxlength="' in name and "data-maxlength-message=" in name
    age = re.search(r'<input[^>]*id="person-estimated_age"[^>]*>', html).group(0)
    assert 'max="120"' in age and "data-range-message=" in age
    assert re.search(r'<input type="hidden" name="incident-reported_date"[^>]*value="">', html)
    assert re.search(r'<input[^>]*name="urgent"[^>]*type="checkbox"', html)
    assert 'name="incident-perpetrators-2-sex"' in html and 'name="consent-share_mhpss"' in html
    assert 'id="field-count"' in html and 'data-one="{n} intake waiting to send"' in html


def test_arabic_shell_carries_six_plural_forms_in_arabic(auth, world):
    """Each counted sentence the script fills (waiting, another account's, soon too old, too
    old) has the six Arabic forms, in Arabic, each with the place of the number."""
    html = auth.login("caseworker").get("/field/shell/ar").get_data(as_text=True)
    for element in ("field-count", "field-others", "field-ageing", "field-too-old"):
        tag = re.search(rf'<p id="{element}"[^>]*>', html).group(0)
        forms = dict(re.findall(r'data-(zero|one|two|few|many|other)="([^"]*)"', tag))
        assert sorted(forms) == sorted(["zero", "one", "two", "few", "many", "other"]), element
        for category, text in forms.items():
            assert re.search("[\u0600-\u06ff]", text) and "{n}" in text, (element, category)
        assert forms["two"] != forms["few"], element  # the dual is not the plural
    ageing = re.search(r'<p id="field-ageing"[^>]*>', html).group(0)
    assert "{date}" in ageing


def test_setup_gives_the_user_and_the_organisations_key_and_is_audited(app, auth, world):
    c = auth.login("caseworker")
    r = c.get("/field/setup.json")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    data = r.get_json()
    assert data["user_id"] == world.users["caseworker"]
    assert uuid.UUID(data["key"]["id"])
    import base64
    point = base64.urlsafe_b64decode(data["key"]["public_key"] + "==")
    assert len(point) == 65 and point[0] == 4
    assert data["max_age_days"] >= 1 and data["shells"] == {"en": "/field/shell/en",
                                                             "ar": "/field/shell/ar"}
    again = auth.login("caseworker2").get("/field/setup.json").get_json()
    assert again["key"] == data["key"] and again["user_id"] == world.users["caseworker2"]
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == str(Action.FIELD_PREPARE))).all()
    assert [e.object_id for e in events] == [data["key"]["id"]] * 2
    assert {str(e.actor_id) for e in events} == {world.users["caseworker"], world.users["caseworker2"]}


def test_worker_is_javascript_and_keeps_only_what_the_shell_needs(auth, world):
    c = auth.login("caseworker")
    r = c.get("/field/sw.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.get_data() == WORKER.read_bytes()
    html = c.get("/field/shell/en").get_data(as_text=True)
    used = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    allow = _allowlist()
    assert used <= set(allow), used - set(allow)
    assert set(allow) == used | {"/field/shell/en", "/field/shell/ar", "/field/setup.json"}
    assert json.loads(json.dumps(allow)) == allow and len(set(allow)) == len(allow)


def test_csp_lets_only_our_own_worker_run(auth, world):
    csp = auth.login("caseworker").get("/field/shell/en").headers["Content-Security-Policy"]
    assert "worker-src 'self'" in csp and "default-src 'none'" in csp
    assert "'unsafe-inline'" not in csp and "*" not in csp


def test_roles_without_case_create_get_nothing(auth, world):
    c = auth.login("auditor")
    for path in ("/field/", "/field/shell/en", "/field/setup.json", "/field/sw.js"):
        assert c.get(path).status_code == 403, path


def test_setup_serves_the_requesters_organisations_key_only(app, auth, world):
    from app.field.keys import active_key

    served = auth.login("caseworker").get("/field/setup.json").get_json()["key"]
    with app.app_context():
        other = active_key(uuid.UUID(world.ids["other_org"]))
        own = active_key(uuid.UUID(world.ids["org"]))
        other_id, own_id = str(other.id), str(own.id)
    assert served["id"] == own_id != other_id
