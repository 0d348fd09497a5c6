"""Two app hosts on one PostgreSQL database and one Redis: what must hold across them does.

Two gunicorns (one worker each, started as production starts them: ``gunicorn.conf.py``'s
start-up checks, ``AMANA_ENV=production``, a least-privilege database role) serve the same
database and share their counters through Redis. Each has its own instance folder holding copies
of the same keys, as two machines would. Over HTTP, against both:

- a session begun on one host works on the other, and a logout on either ends it on both;
- failed logins on both add up to the one lockout;
- the search limit counts the searches made on both;
- one two-step code, or one intake form, sent to both at once is used once; one field
  envelope uploaded to both at once is kept once;
- requests on both at once leave one audit chain, verified without gap or fork, and the
  checkpoints each host signs into its own log all match it;
- a key rotation run while both serve: both still open the old records, and each opens what the
  other wrote under the new key, without a restart once each host has the new key file
  (and a host without it refuses rather than serve or write without it).

Runs in the PostgreSQL pass (``TEST_DATABASE_URL``); needs Redis on 127.0.0.1:6379, and is
skipped without it except in CI (``CI=true``), where it fails instead.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth import mfa, passwords
from app.auth.models import User
from app.cases.models import Case
from app.clock import utcnow
from app.crypto.models import DataKey
from app.db import db
from app.directory.models import Site
from app.field.models import FieldIntake
from app.keyfiles import create_key, kek_name
from tests.helpers.apps import BACKEND, HOST, PG_URL, make_app, pg_admin, pg_url, redis_up
from tests.helpers.audit import verify
from tests.helpers.cases import INTAKE
from tests.helpers.codes import live_code
from tests.helpers.factories import World
from tests.helpers.field_envelopes import at_ms, intake_fields, make_envelope
from tests.helpers.forms import csrf_from, form_tokens
from tests.helpers.hosts import (
    Browser,
    Host,
    Reply,
    production_env,
    start_host,
    stop_hosts,
    wait_ready,
)
from tests.helpers.login import PASSWORD
from tests.helpers.passkeys import SoftAuthenticator, options_on
from tests.helpers.roles import runtime_role_uri

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="needs TEST_DATABASE_URL (runs in CI's PostgreSQL pass)")

MAX_FAILURES = 3
SEARCHES = 6  # the key rotation test opens five cases, each after a search
CHECKPOINT_EVENTS = 5  # the hosts sign the chain's head often, so both write checkpoints
REDIS_DB = 15  # the tests' Redis database (tests/helpers/apps.py: shared_redis)


@dataclass
class Cluster:
    """Two running hosts and what the test needs to look behind them."""

    a: Host
    b: Host
    app: Flask                   # on the database as its owner, for reading and verifying
    owner_uri: str
    runtime_uri: str
    folders: dict[str, Path]     # host name -> its instance folder
    secrets: dict[str, str]      # username -> TOTP secret (accounts made for this module)
    tag: str


def _need_redis() -> None:
    if redis_up():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI runs the two-host test: Redis must answer on 127.0.0.1:6379")
    pytest.skip("no Redis on 127.0.0.1:6379")


def _production_copy(src: Path, dst: Path) -> None:
    """An instance folder holding the test keys, labelled as production keys (the same bytes:
    the database's check values still match)."""
    (dst / "keys").mkdir(parents=True, mode=0o700)
    dst.chmod(0o700)
    for path in (src / "keys").glob("*.key"):
        target = dst / "keys" / path.name
        target.write_text(path.read_text().replace(" development ", " production "))
        target.chmod(0o600)


def _add_accounts(app: Flask, world: World, names: list[str]) -> dict[str, str]:
    """Caseworkers at Tripoli with a password and an enrolled second factor; names are new in
    each run, so their Redis counters (lockout, search limit) are never shared with another."""
    found: dict[str, str] = {}
    with app.app_context():
        tripoli = db.session.get(Site, uuid.UUID(world.ids["tripoli"]))
        pw_hash = passwords.hash_password(PASSWORD)
        for name in names:
            user = User(username=name, display_name=f"Test {name}",
                        organisation_id=uuid.UUID(world.ids["org"]), role="caseworker",
                        password_hash=pw_hash, password_changed_at=utcnow(), active=True)
            user.sites = [tripoli]
            db.session.add(user)
            db.session.flush()
            found[name] = pyotp.random_base32(32)
            mfa.store_secret(user, found[name])
            user.mfa_enrolled_at = utcnow()
        db.session.commit()
    return found


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def cluster(template: tuple[str, World], instance_dir: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _need_redis()
    template_uri, world = template
    tag = uuid.uuid4().hex[:8]
    name = f"amana_hosts_{tag}"
    pg_admin(f"CREATE DATABASE {name} TEMPLATE {sa.make_url(template_uri).database}")
    owner_uri = pg_url(PG_URL, name)
    tmp = tmp_path_factory.mktemp("hosts")
    folders = {h: tmp / f"instance_{h}" for h in ("a", "b")}
    for folder in folders.values():
        _production_copy(instance_dir, folder)
    app = make_app(owner_uri, folders["a"])
    with ExitStack() as stack:
        stack.callback(pg_admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        stack.callback(_dispose, app)
        roles = ("session", "lock", "search", "busy", "keys", "code", "twice", "passkey",
                 "field")
        secrets = _add_accounts(app, world, [f"{role}_{tag}" for role in roles])
        runtime_uri = stack.enter_context(runtime_role_uri(owner_uri))
        hosts: list[Host] = []
        stack.callback(lambda: stop_hosts(*hosts))
        for h in ("a", "b"):
            env = production_env(
                AMANA_ENV="production", AMANA_INSTANCE_PATH=str(folders[h]),
                DATABASE_URL=runtime_uri, AMANA_ALLOWED_HOSTS=HOST,
                RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:6379/{REDIS_DB}",
                AMANA_LOGIN_MAX_FAILURES=str(MAX_FAILURES),
                AMANA_SEARCH_LIMIT=f"{SEARCHES} per 10 minutes",
                AMANA_AUDIT_CHECKPOINT_EVENTS=str(CHECKPOINT_EVENTS),
                # The production floor (OWASP), not the default: a login rehashes the password.
                AMANA_ARGON2_TIME_COST="2", AMANA_ARGON2_MEMORY_KIB=str(19 * 1024),
                AMANA_ARGON2_PARALLELISM="1")
            hosts.append(start_host(h, env, tmp / f"run_{h}"))
        wait_ready(*hosts)
        yield Cluster(hosts[0], hosts[1], app, owner_uri, runtime_uri, folders, secrets, tag)


def _address() -> str:
    """A client address of its own (one of 16 million), so per-address limits never mix, also
    with other runs' counters still in Redis."""
    a, b, c = uuid.uuid4().bytes[:3]
    return f"10.{a}.{b}.{c}"


def test_a_session_begun_on_one_host_works_on_the_other_and_ends_on_both(cluster):
    user = f"session_{cluster.tag}"
    browser = Browser(_address())
    browser.login(cluster.a, user, cluster.secrets[user])
    for host in (cluster.b, cluster.a, cluster.b):
        r = browser.get(host, "/cases/")
        assert r.status == 200 and "/auth/logout" in r.body, (host.name, r.status, r.location)
    stolen = dict(browser.cookies)  # the cookie as it was before the logout
    r = browser.post(cluster.b, "/auth/logout", {"csrf_token": browser.csrf(cluster.b, "/")})
    assert r.status == 302 and r.location.endswith("/auth/login")
    replay = Browser(browser.address, stolen)
    for host in (cluster.a, cluster.b):
        r = replay.get(host, "/cases/")
        assert r.status == 302 and "/auth/login" in r.location, (host.name, r.status)


def test_one_code_sent_to_both_hosts_at_once_is_accepted_once(cluster):
    """Someone who has the password and sees a code typed (over a shoulder, on a shared
    screen) races the person to the other host: the code works for one of them only."""
    user = f"code_{cluster.tag}"
    browsers = [Browser(_address()), Browser(_address())]
    hosts = [cluster.a, cluster.b]
    tokens = []
    for browser, host in zip(browsers, hosts, strict=True):
        r = browser.submit_password(host, user)
        assert r.status == 302 and r.location.endswith("/auth/mfa")
        tokens.append(browser.csrf(host, "/auth/mfa"))
    code = live_code(cluster.secrets[user])
    start, replies = threading.Barrier(2), [None, None]

    def send(i: int) -> None:
        start.wait()
        replies[i] = browsers[i].post(hosts[i], "/auth/mfa",
                                      {"code": code, "csrf_token": tokens[i]})

    senders = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(timeout=60)
    accepted = [r is not None and r.status == 302 and not r.location.endswith("/auth/login")
                for r in replies]
    assert sorted(accepted) == [False, True], [(r.status, r.location) for r in replies if r]
    with cluster.app.app_context():
        verified = db.session.execute(
            select(func.count()).select_from(AuditEvent).join(
                User, User.id == sa.cast(AuditEvent.object_id, sa.Uuid))
            .where(User.username == user, AuditEvent.action == "auth.mfa_verified")).scalar_one()
    assert verified == 1


def test_one_passkey_answer_sent_to_both_hosts_at_once_is_accepted_once(cluster):
    """The challenge lives on the session row, which both hosts read: one answer (a copied
    request) sent to both at once uses it once, whichever host claims it first."""
    user = f"passkey_{cluster.tag}"
    site = {"rp_id": HOST, "origin": f"https://{HOST}"}
    soft = SoftAuthenticator()
    browser = Browser(_address())
    browser.login(cluster.a, user, cluster.secrets[user])
    page = browser.post(cluster.b, "/auth/passkeys/new", {
        "label": "Laptop", "csrf_token": browser.csrf(cluster.b, "/auth/passkeys")}).body
    r = browser.post(cluster.a, "/auth/passkeys/add", {
        "label": "Laptop", "csrf_token": csrf_from(page),
        "answer": soft.register(options_on(page), **site)})
    assert r.status == 302 and r.location.endswith("/auth/passkeys"), (r.status, r.location)
    browser = Browser(_address())
    assert browser.submit_password(cluster.a, user).location.endswith("/auth/mfa")
    page = browser.get(cluster.b, "/auth/mfa").body
    data = {"csrf_token": csrf_from(page), "answer": soft.sign(options_on(page), **site)}
    copies = [Browser(browser.address, dict(browser.cookies)) for _ in range(2)]
    hosts = [cluster.a, cluster.b]
    start, replies = threading.Barrier(2), [None, None]

    def send(i: int) -> None:
        start.wait()
        replies[i] = copies[i].post(hosts[i], "/auth/mfa/passkey", data)

    senders = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(timeout=60)
    accepted = [r is not None and r.status == 302 and not r.location.endswith("/auth/mfa")
                and not r.location.endswith("/auth/login") for r in replies]
    assert sorted(accepted) == [False, True], [(r.status, r.location) for r in replies if r]
    with cluster.app.app_context():
        reasons = sorted(db.session.execute(
            select(AuditEvent.reason).join(User, User.id == AuditEvent.actor_id)
            .where(User.username == user, AuditEvent.reason != "totp",  # the first sign-in
                   AuditEvent.action.in_(("auth.mfa_verified", "auth.mfa_failed")))
        ).scalars())
    # The loser finds the challenge taken, or (arriving after the winner's commit) its token
    # already replaced: refused either way, never a second proof.
    assert reasons in (["passkey"], ["passkey", "passkey_challenge"])


def test_failed_logins_on_both_hosts_add_up_to_the_lockout(cluster):
    user = f"lock_{cluster.tag}"
    browser = Browser(_address())
    hosts = [cluster.a, cluster.b]
    for i in range(MAX_FAILURES):
        r = browser.submit_password(hosts[i % 2], user, f"wrong {uuid.uuid4()}")
        assert r.status == 200 and "did not work" in r.body
    # The right password is refused on either host: neither host saw all the failures itself.
    for host in hosts:
        r = browser.submit_password(host, user)
        assert r.status == 200 and "did not work" in r.body, host.name
    with cluster.app.app_context():
        reasons = db.session.execute(
            select(AuditEvent.reason).join(User, User.id == sa.cast(AuditEvent.object_id, sa.Uuid))
            .where(User.username == user, AuditEvent.action == "auth.lockout")).scalars().all()
    assert reasons == ["too_many_failures"]


def test_the_search_limit_counts_searches_on_both_hosts(cluster):
    user = f"search_{cluster.tag}"
    browser = Browser(_address())
    browser.login(cluster.a, user, cluster.secrets[user])
    hosts = [cluster.a, cluster.b]
    statuses = []
    for i in range(SEARCHES + 1):
        host = hosts[i % 2]
        data = {"name": "Nobody Here", "phone": "", "case_number": "",
                "csrf_token": browser.csrf(host, "/cases/search")}
        statuses.append(browser.post(host, "/cases/search", data).status)
    assert statuses == [200] * SEARCHES + [429]
    # ...and the other host refuses too.
    data = {"name": "Nobody Here", "phone": "", "case_number": "",
            "csrf_token": browser.csrf(cluster.a, "/cases/search")}
    assert browser.post(cluster.a, "/cases/search", data).status == 429


def test_requests_on_both_hosts_at_once_keep_one_audit_chain(cluster):
    user = f"busy_{cluster.tag}"
    browser = Browser(_address())
    browser.login(cluster.b, user, cluster.secrets[user])
    before = verify(cluster.app)
    assert before.ok, before.broken
    threads, each, errors = 4, 8, []

    def hammer(host: Host) -> None:
        mine = Browser(browser.address, dict(browser.cookies))  # the same session, in parallel
        for _ in range(each):
            r = mine.get(host, "/cases/")
            if r.status != 200:
                errors.append((host.name, r.status))

    workers = [threading.Thread(target=hammer, args=((cluster.a, cluster.b)[i % 2],))
               for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert not errors
    after = verify(cluster.app)
    assert after.ok, after.broken
    # Each host signed checkpoints of the one chain into its own log as it went; the operator's
    # 'flask audit verify' on host A, given host B's log too, matches them all.
    logs = [cluster.folders[h] / "audit" / "checkpoints.jsonl" for h in ("a", "b")]
    assert all(log.exists() for log in logs)
    status, output = _command(cluster, "audit", "verify", "--checkpoint", str(logs[1]))
    assert status == 0, output
    matched = int(re.search(r"([\d,]+) checkpoint\(s\) matched", output).group(1).replace(",", ""))
    signed = sum(1 for log in logs for line in log.read_text().splitlines() if line.strip())
    assert matched >= 2 and matched == signed, output
    with cluster.app.app_context():
        listed = db.session.execute(
            select(func.count()).select_from(AuditEvent)
            .where(AuditEvent.seq > before.end, AuditEvent.action == "case.list")).scalar_one()
    assert listed == threads * each


def _try_open_case(browser: Browser, host: Host, world: World, name: str,
                   search_on: Host | None = None) -> Reply:
    """Search for the name (on ``search_on``: the search is remembered in the session cookie)
    and post the intake form on ``host``."""
    where = search_on or host
    data = {"name": name, "phone": "", "case_number": "",
            "csrf_token": browser.csrf(where, "/cases/search")}
    assert browser.post(where, "/cases/search", data).status == 200
    page = browser.get(host, "/cases/new").body
    return browser.post(host, "/cases/new", dict(INTAKE, full_name=name,
                                                  site=world.ids["tripoli"], **form_tokens(page)))


def _open_case(browser: Browser, host: Host, world: World, name: str) -> str:
    """Open a case on ``host``; the new case's id."""
    r = _try_open_case(browser, host, world, name)
    found = re.search(r"/cases/([0-9a-f-]{36})", r.location)
    assert r.status == 302 and found, (r.status, r.location, r.body[:300])
    return found.group(1)


def _shows(browser: Browser, host: Host, case_id: str, name: str) -> bool:
    r = browser.get(host, f"/cases/{case_id}")
    return r.status == 200 and name in r.body


def test_one_form_sent_to_both_hosts_at_once_makes_one_record(cluster, world):
    """A proxy retrying a slow POST on the other host (or a double click split between hosts)
    sends the same intake form, with its one-time token, to both: one case is made, and both
    answers lead to it."""
    user = f"twice_{cluster.tag}"
    browser = Browser(_address())
    browser.login(cluster.a, user, cluster.secrets[user])
    name = f"Warda Twice{cluster.tag}"
    data = {"name": name, "phone": "", "case_number": "",
            "csrf_token": browser.csrf(cluster.a, "/cases/search")}
    assert browser.post(cluster.a, "/cases/search", data).status == 200
    form = dict(INTAKE, full_name=name, site=world.ids["tripoli"],
                **form_tokens(browser.get(cluster.a, "/cases/new").body))
    start, replies = threading.Barrier(2), [None, None]

    def send(i: int) -> None:
        mine = Browser(browser.address, dict(browser.cookies))
        start.wait()
        replies[i] = mine.post((cluster.a, cluster.b)[i], "/cases/new", form)

    senders = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(timeout=60)
    with cluster.app.app_context():
        made = db.session.execute(select(Case.id).join(User, User.id == Case.primary_worker_id)
                                  .where(User.username == user)).scalars().all()
    assert len(made) == 1
    for r in replies:
        assert r is not None and r.status == 302 and str(made[0]) in r.location, \
            (r.status, r.location) if r else None


def test_one_field_envelope_sent_to_both_hosts_at_once_is_kept_once(cluster):
    """A device whose upload timed out retries through the other host while the first still
    works: the same envelope reaches both at once. One pending intake is kept; the other
    answer is ``duplicate`` (the unique submission id decides), never a second intake."""
    user = f"field_{cluster.tag}"
    browser = Browser(_address())
    browser.login(cluster.a, user, cluster.secrets[user])
    setup = json.loads(browser.get(cluster.a, "/field/setup.json").body)
    public = base64.urlsafe_b64decode(setup["key"]["public_key"] + "==")
    envelope = make_envelope(public, setup["key"]["id"], setup["user_id"], "two-hosts-device-01",
                             at_ms(utcnow()), str(uuid.uuid4()), intake_fields())
    token = json.loads(browser.get(cluster.b, "/field/sync").body)["csrf_token"]
    start, replies = threading.Barrier(2), [None, None]

    def send(i: int) -> None:
        mine = Browser(browser.address, dict(browser.cookies))
        start.wait()
        replies[i] = mine.post_json((cluster.a, cluster.b)[i], "/field/sync",
                                    {"envelopes": [envelope]}, token)

    senders = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(timeout=60)
    statuses = sorted(json.loads(r.body)["results"][0]["status"] for r in replies if r)
    assert statuses == ["accepted", "duplicate"], [r.status for r in replies if r]
    with cluster.app.app_context():
        kept = db.session.execute(select(func.count()).select_from(FieldIntake).where(
            FieldIntake.submission_id == uuid.UUID(envelope["sid"]))).scalar_one()
    assert kept == 1


def _kek_versions(app: Flask, *case_ids: str) -> list[int]:
    with app.app_context():
        return [db.session.execute(
            select(DataKey.kek_version).join(Case, Case.data_key_id == DataKey.id)
            .where(Case.id == uuid.UUID(c))).scalar_one() for c in case_ids]


def _command(cluster: Cluster, *args: str) -> tuple[int, str]:
    """A ``flask`` command as an operator runs it on host A: production, A's instance folder
    (and its checkpoint log), the least-privilege role. Returns its status and output."""
    folder = cluster.folders["a"]
    app = make_app(cluster.runtime_uri, folder, AMANA_ENV="production",
                   AUDIT_CHECKPOINT_FILE=str(folder / "audit" / "checkpoints.jsonl"))
    try:
        result = app.test_cli_runner().invoke(args=list(args))
    finally:
        _dispose(app)
    return result.exit_code, result.output


def _rotate(cluster: Cluster) -> str:
    """``flask keys rotate`` on host A; its output (the test fails if the command fails)."""
    status, output = _command(cluster, "keys", "rotate")
    assert status == 0, output
    return output


def test_key_rotation_while_both_hosts_serve(cluster, world):
    user = f"keys_{cluster.tag}"
    browser = Browser(_address())
    browser.login(cluster.a, user, cluster.secrets[user])
    old_name = f"Salma Before{cluster.tag}"
    old = _open_case(browser, cluster.a, world, old_name)
    assert _shows(browser, cluster.b, old, old_name)
    keys_a, keys_b = (cluster.folders[h] / "keys" for h in ("a", "b"))

    # The documented procedure: the new key goes to every host first (present but not
    # enrolled, it is not used), then 'flask keys rotate' on one host enrols it.
    create_key(kek_name(2), cluster.folders["a"], environment="production")
    shutil.copy2(keys_a / "kek_2.key", keys_b / "kek_2.key")
    assert "KEK version 2 created and active" in _rotate(cluster)
    assert _kek_versions(cluster.app, old) == [2]
    # Both hosts, started before the rotation, open the re-wrapped old record ...
    for host in (cluster.a, cluster.b):
        assert _shows(browser, host, old, old_name), host.name
    # ... and each opens what the other wrote under the new key, without a restart.
    names = {cluster.a: f"Nour Afterone{cluster.tag}", cluster.b: f"Rana Aftertwo{cluster.tag}"}
    made = {host: _open_case(browser, host, world, name) for host, name in names.items()}
    assert _kek_versions(cluster.app, *made.values()) == [2, 2]
    for writer, other in ((cluster.a, cluster.b), (cluster.b, cluster.a)):
        assert _shows(browser, other, made[writer], names[writer]), other.name

    # Out of order: rotated on A before B has the new key. B refuses rather than serve
    # without it; once the file is there, B goes on without a restart.
    assert "KEK version 3 created and active" in _rotate(cluster)
    # (The search goes to A: on B it may already fail, opening a candidate under the new key.)
    refused = _try_open_case(browser, cluster.b, world, f"Amal Refused{cluster.tag}",
                             search_on=cluster.a)
    assert refused.status == 500, (refused.status, refused.location)
    assert "Key-encryption key version 3 is active in the database but missing here" in \
        cluster.b.tail()  # B's log says what to do
    assert _shows(browser, cluster.a, old, old_name)
    shutil.copy2(keys_a / "kek_3.key", keys_b / "kek_3.key")
    assert _shows(browser, cluster.b, old, old_name)
    late = _open_case(browser, cluster.b, world, f"Huda Later{cluster.tag}")
    assert _kek_versions(cluster.app, late) == [3]
    assert _shows(browser, cluster.a, late, f"Huda Later{cluster.tag}")
