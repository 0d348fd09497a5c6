"""The people of the load test (bench/load.py runs this file in a process of its own: Locust
patches the standard library for gevent, which the seeding must not see).

    python bench/load_users.py CONFIG.json

Each simulated person logs in with their own account (password, then the current TOTP code)
and then works as their role does, reading every form from the page it is on (CSRF token,
one-time submission token, the choices offered) and following each redirect as a browser:

- a caseworker opens the case list, opens one of their cases, searches by name, adds a note
  to an open case, and now and then searches and opens a new case (search first, as the app
  asks), then records the survivor's consent for services on it;
- a supervisor reads the list of their sites' cases, opens cases and searches;
- a safe-space coordinator logs sessions and reads the list of safe spaces.

Requests are timed from when every person has logged in, for ``duration`` seconds; the
gunicorn processes' and the PostgreSQL backends' CPU time is read from ``/proc`` at both ends
of that window, and the workers' memory at its end. Results go to ``out`` as JSON.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from http.cookiejar import Cookie, DefaultCookiePolicy
from itertools import count
from pathlib import Path
from typing import Any
from urllib.request import Request

import gevent  # type: ignore[import-untyped]
import pyotp
from load_forms import CASE_LINK, CONSENT, INTAKE, NOTE, form, session_values  # bench/load_forms.py
from locust import HttpUser, User, between, task
from locust.env import Environment

CONFIG: dict[str, Any] = {}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _secure_over_proxy(_policy: DefaultCookiePolicy, _cookie: Cookie, _request: Request) -> bool:
    """The ``Secure`` session cookie is sent although the proxy's TLS is left out here
    (Requests copies the session's cookie jar for each request, policy lost, so the policy is
    changed for this process, which makes no other request)."""
    return True


DefaultCookiePolicy.return_ok_secure = _secure_over_proxy  # type: ignore[method-assign,assignment]


# --- People ---------------------------------------------------------------------------------

ADDRESSES = count(2)
MEASURING = False


class Person(HttpUser):
    """Someone at a browser behind the TLS proxy (each at an address of their own)."""

    abstract = True
    wait_time = between(0.5, 2)
    accounts: list[dict[str, Any]] = []  # set per role by main(): one person per account
    ready = 0  # people logged in, their cases listed
    broken = 0  # people who could not start

    def on_start(self) -> None:
        self.account = self.accounts.pop()
        number = next(ADDRESSES)
        self.client.headers.update({
            "X-Forwarded-Proto": "https", "X-Forwarded-For": f"10.1.{number // 250}.{number % 250}",
            "User-Agent": "Mozilla/5.0 (Amana load test)"})
        self.cases: list[str] = []
        self.open_cases: list[str] = []
        try:
            self.login()
            self.collect()
        except Exception:
            Person.broken += 1
            raise
        Person.ready += 1

    def page(self, path: str, name: str) -> str:
        """GET a page that must answer 200; its text ("" when it did not)."""
        with self.client.get(path, name=name, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
                return ""
            return str(resp.text)

    def post(self, path: str, data: dict[str, Any], name: str, then: str | None,
             expect: int = 302) -> str:
        """POST a form as the browser on ``path`` would (Referer: the page itself, as the
        proxy's HTTPS origin); follow the redirect as ``then``. Returns the redirect's path."""
        referer = f"https{str(self.host).removeprefix('http')}{path}"
        with self.client.post(path, data=data, name=name, allow_redirects=False,
                              headers={"Referer": referer}, catch_response=True) as resp:
            if resp.status_code != expect:
                resp.failure(f"status {resp.status_code}")
                return ""
            location = str(resp.headers.get("Location", ""))
        if then is not None and location:
            self.page(location, then)
        return location

    def submit(self, page: str, action: str, values: dict[str, Any], name: str,
               then: str | None, expect: int = 302) -> str:
        """Fill the form of ``page`` (already fetched) posting to ``action`` and send it."""
        try:
            found = form(page, action)
        except LookupError:
            self.failed(name, "form missing")
            return ""
        return self.post(action, {**found["fields"], **values}, name, then, expect)

    def failed(self, name: str, why: str) -> None:
        self.environment.events.request.fire(
            request_type="POST", name=name, response_time=0, response_length=0,
            exception=AssertionError(why), context={})

    def login(self) -> None:
        """Password, then the current code (a fresh time step if this one was just used)."""
        page = self.page("/auth/login", "login: page")
        self.submit(page, "/auth/login", {"username": self.account["username"],
                                          "password": CONFIG["password"]},
                    "login: password", None)
        for _attempt in range(2):
            page = self.page("/auth/mfa", "login: code page")
            code = pyotp.TOTP(self.account["secret"]).at(datetime.now(UTC))
            if self.submit(page, "/auth/mfa", {"code": code}, "login: code", "home"):
                return
            gevent.sleep(31 - time.time() % 30)  # this code was used (the previous run)
        raise RuntimeError(f"{self.account['username']} could not log in")

    def collect(self) -> None:
        """The ids of the person's cases from their list (before measuring)."""

    def some_case(self, pool: list[str]) -> str | None:
        return random.choice(pool) if pool else None

    def search(self) -> str:
        page = self.page("/cases/search", "search: page")
        name = random.choice(CONFIG["names"])
        if random.random() < 0.5:  # half the searches by part of the name
            name = " ".join(name.split()[::2])
        return self.submit(page, "/cases/search", {"name": name}, "search: by name", None,
                           expect=200) or page


class Caseworker(Person):
    def collect(self) -> None:
        self.cases = CASE_LINK.findall(self.page("/cases/", "case list"))
        for status in ("open", "assessment"):
            self.open_cases += CASE_LINK.findall(self.page(f"/cases/?status={status}",
                                                           "case list"))

    @task(6)
    def case_list(self) -> None:
        found = CASE_LINK.findall(self.page("/cases/", "case list"))
        self.cases = found or self.cases

    @task(8)
    def open_case(self) -> None:
        case = self.some_case(self.cases)
        if case:
            self.page(f"/cases/{case}", "open case")

    @task(3)
    def search_by_name(self) -> None:
        self.search()

    @task(4)
    def add_note(self) -> None:
        case = self.some_case(self.open_cases)
        if not case:
            return
        page = self.page(f"/cases/{case}", "open case")
        self.submit(page, f"/cases/{case}/notes", {"body": NOTE}, "add note", "open case")

    @task(1)
    def create_case(self) -> None:
        self.search()
        page = self.page("/cases/new", "new case: form")
        at = self.submit(page, "/cases/new", {
            **INTAKE, "full_name": f"Synthetic Person {random.randrange(10**6)}",
            "estimated_age": str(random.randint(18, 60))}, "new case: save", None)
        if not at.startswith("/cases/"):
            return
        case = at.removeprefix("/cases/").split("/")[0]
        page = self.page(at, "open case")
        # consent for services next, as the page asks: without it only intake is possible
        if self.submit(page, f"/cases/{case}/consent", CONSENT, "new case: consent",
                       "open case"):
            self.cases.append(case)
            self.open_cases.append(case)


class Supervisor(Person):
    def collect(self) -> None:
        self.cases = CASE_LINK.findall(self.page("/cases/", "case list"))

    @task(4)
    def case_list(self) -> None:
        found = CASE_LINK.findall(self.page(f"/cases/?page={random.randint(1, 3)}", "case list"))
        self.cases = found or self.cases

    @task(6)
    def open_case(self) -> None:
        case = self.some_case(self.cases)
        if case:
            self.page(f"/cases/{case}", "open case")

    @task(1)
    def search_by_name(self) -> None:
        self.search()


class Coordinator(Person):
    @task(3)
    def log_session(self) -> None:
        page = self.page("/safe-spaces/sessions/new", "session: form")
        try:
            options = form(page, "/safe-spaces/sessions/new")["options"]
        except LookupError:
            self.failed("session: save", "form missing")
            return
        self.submit(page, "/safe-spaces/sessions/new", session_values(options, random.randint(0, 5)),
                    "session: save", "session: view")

    @task(1)
    def spaces(self) -> None:
        self.page("/safe-spaces/", "safe spaces")


# --- Measuring ------------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, float]:
    """(parent pid, user+system CPU seconds) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def processes(master: int, pg_title: str) -> tuple[list[int], list[int]]:
    """The gunicorn master and its workers; the PostgreSQL backends of the runtime role."""
    app, pg = [master], []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if _stat(pid)[0] == master:
                app.append(pid)
            else:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
                if title.startswith(b"postgres:") and pg_title.encode() in title:
                    pg.append(pid)
        except OSError:  # gone, or not ours to read
            continue
    return app, pg


def cpu(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = _stat(pid)[1]
        except OSError:
            continue
    return out


def memory(pid: int) -> dict[str, int]:
    """RSS and PSS in KiB."""
    out = {"rss": 0, "pss": 0}
    for path, key, field in ((f"/proc/{pid}/status", "rss", "VmRSS:"),
                             (f"/proc/{pid}/smaps_rollup", "pss", "Pss:")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(field):
                    out[key] = int(line.split()[1])
                    break
        except OSError:
            continue
    return out


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (ms)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def main() -> None:
    global MEASURING
    CONFIG.update(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
    low, high = CONFIG["think"]
    Person.wait_time = between(low, high)
    roles = {"caseworker": Caseworker, "supervisor": Supervisor, "wgss_coordinator": Coordinator}
    # One simulated person per account, in the accounts' proportions.
    for role, cls in roles.items():
        cls.accounts = [p for p in CONFIG["people"] if p["role"] == role]
        cls.fixed_count = len(cls.accounts)
    classes: list[type[User]] = [cls for cls in roles.values() if cls.accounts]
    users = sum(cls.fixed_count for cls in classes)
    env = Environment(user_classes=classes, host=CONFIG["host"])
    samples: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    failures: dict[str, int] = defaultdict(int)

    def on_request(request_type: str, name: str, response_time: float, response_length: int,
                   exception: BaseException | None = None, **_kw: Any) -> None:
        if exception is not None:
            failures[f"{name}: {str(exception)[:60]}"] += 1
        if not MEASURING:
            return
        samples[name].append(response_time)
        if exception is not None:
            errors[name] += 1

    env.events.request.add_listener(on_request)  # type: ignore[no-untyped-call]
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=CONFIG["spawn_rate"])
    deadline = time.monotonic() + 300
    while Person.ready < users:
        if Person.broken or time.monotonic() > deadline:
            raise SystemExit(f"load: only {Person.ready} of {users} people could log in "
                             f"({dict(failures)})")
        gevent.sleep(0.5)
    app, pg = processes(CONFIG["master"], CONFIG["pg_title"])
    exceptions_before = sum(e["count"] for e in runner.exceptions.values())
    before_app, before_pg = cpu(app), cpu(pg)
    locust_before = sum(os.times()[:2])
    load_before = os.getloadavg()[0]
    MEASURING = True
    started = time.monotonic()
    gevent.sleep(CONFIG["duration"])
    MEASURING = False
    window = time.monotonic() - started
    after_app = cpu(app)
    _app, pg_now = processes(CONFIG["master"], CONFIG["pg_title"])
    after_pg = cpu(pg_now)
    result: dict[str, Any] = {
        "window": window, "load_before": load_before, "load_after": os.getloadavg()[0],
        "cpu_app": sum(after_app[p] - before_app.get(p, 0.0) for p in after_app),
        "cpu_db": sum(after_pg[p] - before_pg.get(p, 0.0) for p in after_pg),
        "cpu_locust": sum(os.times()[:2]) - locust_before,
        "memory": {"master": memory(CONFIG["master"]),
                   "workers": [memory(p) for p in app if p != CONFIG["master"]]},
        "actions": {name: {"count": len(s), "errors": errors[name], "p50": percentile(s, 0.5),
                           "p95": percentile(s, 0.95), "p99": percentile(s, 0.99)}
                    for name, s in samples.items() if not name.startswith("login")},
        "failures": dict(failures),
        "exceptions": sum(e["count"] for e in runner.exceptions.values()) - exceptions_before,
    }
    everything = [t for name, s in samples.items() if not name.startswith("login") for t in s]
    result["all"] = {"p50": percentile(everything, 0.5), "p95": percentile(everything, 0.95),
                     "p99": percentile(everything, 0.99)}
    runner.quit()
    Path(CONFIG["out"]).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
