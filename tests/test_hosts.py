"""Host and server headers: in production only the configured host names are served (a forged
Host gets 400 and no redirect, also for Werkzeug's double-slash redirect), production needs the
setting to start, and no server announces its version."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.config import ConfigError, build_config
from app.security import host_allowed, require_hosts
from tests.helpers.apps import HOST, make_app, production_app, production_keys
from tests.helpers.roles import runtime_role_uri

ROOT = Path(__file__).resolve().parent.parent
FORGED = "evil.example"


@pytest.fixture
def production(db_uri, instance_dir, monkeypatch):
    """An app built with the production settings (keys from the environment, as in production)."""
    return production_app(db_uri, instance_dir, monkeypatch)


def _get(app, path: str, host: str):
    # PATH_INFO is set directly: the test client would read "//evil..." as a host name.
    return app.test_client().get("/", base_url=f"https://{host}",
                                 environ_overrides={"PATH_INFO": path, "HTTP_HOST": host})


@pytest.mark.parametrize("path", ["/auth/login", "//evil.example/auth/login", "//auth//login",
                                  "/healthz", "/static/css/amana.css", "/no/such/page"])
def test_forged_host_is_refused_in_production(production, path):
    r = _get(production, path, FORGED)
    assert r.status_code == 400 and "Location" not in r.headers
    body = r.get_data(as_text=True)
    assert f"://{FORGED}" not in body and f'"//{FORGED}' not in body  # no link to the forged host


def test_forged_host_cannot_steer_the_double_slash_redirect(production):
    # With a configured name the redirect still happens, to that name only.
    r = _get(production, "//auth//login", HOST)
    assert r.status_code == 308 and r.headers["Location"] == f"https://{HOST}/auth/login"
    for host in (FORGED, f"{HOST}.{FORGED}", f"{FORGED}:443", f"x{HOST}"):
        r = _get(production, "//auth//login", host)
        assert r.status_code == 400 and "Location" not in r.headers, host


@pytest.mark.parametrize("host", [HOST, f"{HOST.upper()}:443", "intra.example.org",
                                  "amana.intra.example.org"])
def test_configured_hosts_are_served(production, host):
    r = _get(production, "/auth/login", host)
    assert r.status_code == 200 and 'name="password"' in r.get_data(as_text=True)


def test_production_without_hosts_refuses_to_serve(db_uri, instance_dir, monkeypatch):
    production_keys(monkeypatch)
    monkeypatch.delenv("AMANA_ALLOWED_HOSTS", raising=False)
    app = make_app(db_uri, instance_dir, AMANA_ENV="production")
    with pytest.raises(ConfigError, match="AMANA_ALLOWED_HOSTS is required in production"):
        require_hosts(app)
    # An app built some other way still serves no host at all.
    assert _get(app, "/auth/login", "localhost").status_code == 400


def test_hosts_setting_is_checked(instance_dir, monkeypatch):
    monkeypatch.delenv("AMANA_ALLOWED_HOSTS", raising=False)
    assert build_config("testing", instance_dir)["ALLOWED_HOSTS"] == []
    monkeypatch.setenv("AMANA_ALLOWED_HOSTS", " Amana.Example.org ,[::1],127.0.0.1,")
    assert build_config("testing", instance_dir)["ALLOWED_HOSTS"] == [
        "amana.example.org", "[::1]", "127.0.0.1"]
    for bad in ("https://amana.example.org", "amana.example.org:443", "*", "amana.example.org/x"):
        monkeypatch.setenv("AMANA_ALLOWED_HOSTS", bad)
        with pytest.raises(ConfigError, match="AMANA_ALLOWED_HOSTS"):
            build_config("testing", instance_dir)


def test_host_matching():
    allowed = ["amana.example.org", ".intra.example", "[::1]", "127.0.0.1"]
    for host in ("amana.example.org", "AMANA.example.org:8443", "amana.example.org.",
                 "a.b.intra.example", "intra.example", "[::1]:5000", "127.0.0.1:8000"):
        assert host_allowed(host, allowed), host
    for host in ("", "evil.example", "amana.example.org.evil", "xamana.example.org",
                 "evilintra.example", "[::2]", "127.0.0.2"):
        assert not host_allowed(host, allowed), host


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _key_env(instance: Path) -> dict[str, str]:
    """The test instance's keys given as environment values (which production accepts)."""
    env = {}
    for path in (instance / "keys").glob("*.key"):
        env[f"AMANA_KEY_{path.stem.upper()}"] = path.read_text().split()[-1]
    return env


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def runtime_uri(db_uri):
    """The test database as a least-privilege role (production refuses a superuser)."""
    with runtime_role_uri(db_uri) as uri:
        yield uri


def test_wsgi_server_in_production_refuses_forged_hosts_and_names_no_version(runtime_uri,
                                                                             instance_dir):
    url = sa.make_url(runtime_uri)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMANA_", "DATABASE_URL"))}
    env.update(_key_env(instance_dir), AMANA_ENV="production",
               AMANA_INSTANCE_PATH=str(instance_dir),
               DATABASE_URL=url.render_as_string(hide_password=False))
    # Without host names the production server does not start: one line, exit 2.
    refused = subprocess.run([sys.executable, "wsgi.py"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode == 2, refused.stderr
    lines = [ln for ln in refused.stderr.splitlines() if ln.strip() and not ln.startswith("INFO")]
    assert len(lines) == 1 and "AMANA_ALLOWED_HOSTS is required" in lines[0], refused.stderr
    port = _free_port()
    env.update(AMANA_ALLOWED_HOSTS=HOST, AMANA_HOST="127.0.0.1", AMANA_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "wsgi.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        for path, host, status in (("/auth/login", HOST, 200), ("/auth/login", FORGED, 400),
                                   ("//evil.example/auth/login", FORGED, 400),
                                   ("//auth//login", FORGED, 400), ("//auth//login", HOST, 308)):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.putrequest("GET", path, skip_host=True)
            conn.putheader("Host", host)
            conn.endheaders()
            r = conn.getresponse()
            r.read()
            conn.close()
            assert r.status == status, (path, host, r.status)
            assert r.getheader("Server") is None, (path, host)
            location = r.getheader("Location")
            assert location is None or urlsplit(location)[1:3] == (HOST, "/auth/login"), location
        # Requests the server itself refuses (before the app) carry no Server header either.
        too_long = _raw(port, b"GET / HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nX: "
                        + b"a" * 70000 + b"\r\n\r\n")
        head = too_long.split(b"\r\n\r\n")[0]
        assert re.match(rb"HTTP/1\.[01] 431 ", head) and b"\r\nServer:" not in head, head
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_gunicorn_server_header_names_no_version():
    """gunicorn sends ``Server: gunicorn`` (from this constant); a version there would show."""
    import gunicorn.http.wsgi

    assert gunicorn.http.wsgi.SERVER == "gunicorn"
    assert not re.search(r"\d", gunicorn.http.wsgi.SERVER)
