"""Two app hosts in tests (tests/test_two_hosts.py): gunicorn started as production starts it,
and a browser that talks to either host over HTTP with one cookie jar.

The hosts sit behind an imagined TLS proxy: every request carries the proxy's
``X-Forwarded-For`` and ``X-Forwarded-Proto: https`` (production trusts one hop), the configured
``Host`` and a same-origin ``Referer`` (CSRF's strict check over HTTPS). The session cookie is
``Secure``, so a cookie library would not send it over plain HTTP; the jar here keeps it anyway.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.helpers.apps import HOST
from tests.helpers.codes import live_code
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD

ROOT = Path(__file__).resolve().parent.parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(eq=False)
class Host:
    """One gunicorn (one worker) on a loopback port."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        stop_hosts(self)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def stop_hosts(*hosts: Host) -> None:
    """Stop the hosts (all asked at once, then waited for)."""
    for host in hosts:
        if host.proc.poll() is None:
            host.proc.terminate()
    for host in hosts:
        try:
            host.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            host.proc.kill()
            host.proc.wait()


def start_host(name: str, env: dict[str, str], folder: Path) -> Host:
    """Start ``gunicorn -c gunicorn.conf.py -w 1`` with ``env`` (the start-up checks run in the
    master first, as in production); returns at once (see ``wait_ready``)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "gunicorn.log"
    full = {**env, "GUNICORN_CMD_ARGS": "", "XDG_RUNTIME_DIR": str(folder)}
    with log.open("wb") as out:
        proc = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "-w", "1",
                                 "-b", f"127.0.0.1:{port}", "wsgi:app"],
                                cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT)
    return Host(name, port, proc, log)


def wait_ready(*hosts: Host) -> None:
    """Wait until every host answers ``/healthz`` with 200 (database and Redis reachable)."""
    deadline = time.monotonic() + START_SECONDS
    for host in hosts:
        while True:
            assert host.proc.poll() is None, f"host {host.name} exited:\n{host.tail()}"
            assert time.monotonic() < deadline, f"host {host.name} did not start:\n{host.tail()}"
            try:
                status = Browser("192.0.2.1").get(host, "/healthz").status
            except OSError:
                status = 0
            if status == 200:
                break
            time.sleep(0.2)


@dataclass
class Reply:
    status: int
    location: str
    body: str


@dataclass
class Browser:
    """One person's browser: a cookie jar and an address, usable against any host."""

    address: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, host: Host, method: str, path: str,
                data: dict[str, str] | None = None, *, json_body: Any = None,
                extra: dict[str, str] | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=60)
        headers = {"Host": HOST, "X-Forwarded-For": self.address, "X-Forwarded-Proto": "https",
                   "Referer": f"https://{HOST}{path}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        headers.update(extra or {})
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", errors="replace")
            for raw in resp.headers.get_all("Set-Cookie") or []:
                pair, _sep, attrs = raw.partition(";")
                name, _eq, value = pair.strip().partition("=")
                gone = "max-age=0" in attrs.lower() or "1970" in attrs
                if gone or not value.strip('"'):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            return Reply(resp.status, resp.getheader("Location") or "", text)
        finally:
            conn.close()

    def get(self, host: Host, path: str) -> Reply:
        return self.request(host, "GET", path)

    def post(self, host: Host, path: str, data: dict[str, str]) -> Reply:
        return self.request(host, "POST", path, data)

    def post_json(self, host: Host, path: str, payload: Any, token: str) -> Reply:
        """A script's JSON POST (the field sync): the CSRF token in ``X-CSRFToken``."""
        return self.request(host, "POST", path, json_body=payload, extra={"X-CSRFToken": token})

    def csrf(self, host: Host, path: str) -> str:
        return csrf_from(self.get(host, path).body)

    def submit_password(self, host: Host, username: str, password: str = PASSWORD) -> Reply:
        return self.post(host, "/auth/login", {"username": username, "password": password,
                                               "csrf_token": self.csrf(host, "/auth/login")})

    def login(self, host: Host, username: str, secret: str) -> None:
        """Password, then the current two-step code, both on ``host``."""
        r = self.submit_password(host, username)
        assert r.status == 302 and r.location.endswith("/auth/mfa"), (r.status, r.location)
        r = self.post(host, "/auth/mfa", {"code": live_code(secret),
                                          "csrf_token": self.csrf(host, "/auth/mfa")})
        assert r.status == 302 and not r.location.endswith("/auth/login"), (r.status, r.location)


def production_env(**settings: str) -> dict[str, str]:
    """This process's environment without Amana's settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AMANA_", "DATABASE_", "RATELIMIT_", "GUNICORN_"))}
    env.update(settings)
    return env
