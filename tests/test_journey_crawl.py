"""The journey crawl: after a realistic month of use, every page of every role still works.

A month is seeded through the app (``tests/journey.py``: the demo seed plus every journey of
the browser tests and more). Then each role logs in and opens every GET route of the
authorization matrix, with the matrix's ids and with the month's real ids (every case,
incident, goal, referral, safe-space session, activity type, account, directory record, and
for the auditor every record type, action and account of the trail), and follows the
same-site links of the pages it gets, two levels deep and a few URLs per route pattern.

A page fails the crawl when it answers 500, when it is HTML outside the base layout, when a
link is a route that does not answer GET, when a link shown to a role is refused (403) to that
role, or when the role's session is lost on the way. Failures name the role, the URL (ids
only) and, for a 500, the exception type and where it was raised: never page content.

Finally every GET route of the app must have been reached with a real record by some role, so
a new route without a matrix row, a seed or a link cannot slip past the crawl.
"""

from __future__ import annotations

import re
import shutil
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import AnyConverter, RequestRedirect, Rule

from app import clock as app_clock
from app.auth import oidc
from tests.authz_matrix import MATRIX, PUBLIC, ROLES
from tests.helpers.apps import BACKEND, Clock, make_app, pg_admin, pg_url
from tests.helpers.factories import World
from tests.helpers.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.journey import Month, Person, seed_month

# The auditor goes last, so the trail it reads holds everything the other roles just did.
CRAWL_ORDER = ("caseworker", "supervisor", "service_provider", "wgss_coordinator",
               "program_manager", "admin", "auditor")
ANONYMOUS = "anonymous"
MAX_DEPTH = 2            # links of the seed pages, and links of those pages
PER_PATTERN = 3          # followed links per route pattern (and query keys) per role
LAYOUT_MARKERS = ('<header class="site-header">', '<main id="main"')
OK = {200, 204, 302, 303}
PLACEHOLDER = re.compile(r"\{(\w+):(\w+)\}")
HREF = re.compile(r'<a\s[^>]*?href="([^"]*)"')  # the app's markup: double-quoted attributes
APP_DIR = str(Path(__file__).resolve().parent.parent / "app")

assert set(CRAWL_ORDER) == set(ROLES)


# --- The seeded month, once per module -------------------------------------------------------

@pytest.fixture(scope="module")
def month(template: tuple[str, World], instance_dir: Path, provider: Provider,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Month, list[str]]]:
    """A copy of the test world with a month of use on it, and the app's captured 500s.
    Single sign-on is set up with the local provider (tests/helpers/oidc_provider.py), so the
    month links accounts to it and the crawl reaches every sign-on page."""
    uri, world = template
    name = f"amana_journey_{uuid.uuid4().hex[:10]}"
    if BACKEND == "sqlite":
        dst = tmp_path_factory.mktemp("journey") / "month.db"
        shutil.copyfile(sa.make_url(uri).database or "", dst)
        db_uri = f"sqlite:///{dst}"
    else:
        pg_admin(f"CREATE DATABASE {name} TEMPLATE {sa.make_url(uri).database}")
        db_uri = pg_url(uri, name)
    oidc.forget()  # the provider's metadata is cached per process: this module's provider
    app = make_app(db_uri, instance_dir, OIDC_ISSUER=provider.issuer, OIDC_CLIENT_ID=CLIENT_ID,
                   OIDC_CLIENT_SECRET=CLIENT_SECRET)
    errors = _capture_errors(app)
    clock = Clock()
    # Argon2 at its smallest (make_app's LIGHT_ARGON2): some seventy logins, resets and
    # accounts would otherwise spend most of the crawl's time hashing.
    try:
        yield seed_month(app, world, clock, errors), errors
    finally:
        app_clock.freeze(None)
        from app.db import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if BACKEND == "postgresql":
            pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _capture_errors(app: Flask) -> list[str]:
    """Note where each unexpected exception was raised, then answer as the app does (its 500
    page). Only the type and code locations are kept: messages can carry submitted values."""
    seen: list[str] = []
    original = app.error_handler_spec[None][None][Exception]

    def capture(exc: Exception) -> Any:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if f.filename.startswith(APP_DIR) or f.filename.endswith(".html")]
        seen.append(f"{type(exc).__name__} raised at {_where(ours[-1] if ours else None)}"
                    f" (innermost: {_where(frames[-1] if frames else None)})")
        return original(exc)

    app.register_error_handler(Exception, capture)
    return seen


def _where(frame: traceback.FrameSummary | None) -> str:
    """``app/x/y.py:12 in f`` (a template by its file name; a library file by its name)."""
    if frame is None:
        return "?"
    name = frame.filename
    short = ("app" + name[len(APP_DIR):]) if name.startswith(APP_DIR) else Path(name).name
    return f"{short}:{frame.lineno} in {frame.name}"


# --- What each role opens ----------------------------------------------------------------

def _matrix_urls(month: Month, real: dict[str, list[str]]) -> list[str]:
    """Every GET row of the authorization matrix, its placeholders filled with real ids (the
    rows that use a random id get one of the month's records instead)."""
    world = month.world
    urls = []
    for row in MATRIX:
        if row.method != "GET":
            continue

        def fill(m: re.Match[str], row: Any = row) -> str:
            kind, label = m.group(1), m.group(2)
            if kind == "user":
                return world.users[label]
            if kind == "id":
                return world.ids[label]
            if kind == "incident":
                return real["incident:" + label][0]
            if kind == "uuid":
                return real["random:" + row.endpoint][0]
            if kind in ("file", "shared"):  # a file of the month (the world has none)
                return real[kind][0]
            if kind == "intake":  # the caseworker's field intake left waiting
                return month.ids["field_intake"]
            raise AssertionError(f"unknown placeholder {kind}")

        urls.append(PLACEHOLDER.sub(fill, row.path))
    return urls


def _real_ids(month: Month) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """The month's records: ids for the matrix, URLs for every role, URLs for the auditor."""
    from sqlalchemy import func, select

    from app.audit.actions import ObjectType
    from app.audit.models import AuditEvent
    from app.auth.models import User
    from app.cases.models import STATUSES, ActionItem, Case, Incident
    from app.db import db
    from app.directory.models import Organisation, SafeSpace, Service, Site
    from app.programme.models import AwarenessSession, StaffTraining
    from app.referrals.models import Referral
    from app.safe_space.models import ActivityType, WgssSession

    urls: list[str] = ["/cases/?sort=risk&page=1", "/admin/users?status=inactive"]
    audit: list[str] = []
    with month.app.app_context():
        session = db.session
        cases = {str(i): n for i, n in session.execute(select(Case.id, Case.case_number))}
        erased = month.ids["case_c"]
        for case in [*cases, erased]:
            urls += [f"/cases/{case}", f"/cases/{case}/edit", f"/cases/{case}/assessment",
                     f"/cases/{case}/incidents/new", f"/cases/{case}/actions/new",
                     f"/cases/{case}/assign", f"/cases/{case}/erase", f"/referrals/new/{case}"]
        incidents = session.execute(select(Incident.case_id, Incident.id)).all()
        urls += [f"/cases/{c}/incidents/{i}" for c, i in incidents]
        urls += [f"/cases/{c}/actions/{i}" for c, i in
                 session.execute(select(ActionItem.case_id, ActionItem.id))]
        for (ref,) in session.execute(select(Referral.id)):
            urls += [f"/referrals/{ref}/sent", f"/referrals/{ref}"]
        # Attached files and the copies shared with referrals (app/attachments).
        from app.attachments.models import Attachment, ReferralAttachment

        files = session.execute(select(Attachment.case_id, Attachment.id)).all()
        urls += [f"/cases/{c}/attachments/{i}" for c, i in files]
        shared = session.execute(select(ReferralAttachment.referral_id,
                                        ReferralAttachment.id)).all()
        urls += [f"/referrals/{r}/files/{i}" for r, i in shared]
        urls += [f"/cases/?status={s}" for s in STATUSES]
        sessions = session.execute(select(WgssSession.id, WgssSession.safe_space_id,
                                          WgssSession.held_on)).all()
        months = sorted({h.strftime("%Y-%m") for _i, _s, h in sessions})
        for (space,) in session.execute(select(SafeSpace.id)):
            for page in ("sessions", "summary", "summary.csv"):
                urls.append(f"/safe-spaces/{space}/{page}")
                urls += [f"/safe-spaces/{space}/{page}?month={m}" for m in months]
        for i, _space, _held in sessions:
            urls += [f"/safe-spaces/sessions/{i}", f"/safe-spaces/sessions/{i}/edit"]
        urls += [f"/safe-spaces/activity-types/{i}" for (i,) in session.execute(
            select(ActivityType.id))]
        logs: dict[str, list[str]] = {}
        for kind, model in (("awareness", AwarenessSession), ("trainings", StaffTraining)):
            rows = session.execute(select(model.id, model.site_id, model.held_on)).all()
            logs[kind] = [str(i) for i, _s, _h in rows]
            urls += [f"/programme/{kind}/{i}" for i, _s, _h in rows]
            urls += [f"/programme/sites/{s}/{kind}?month={h:%Y-%m}" for _i, s, h in rows]
        users = {str(i): u for i, u in session.execute(select(User.id, User.username))}
        urls += [f"/admin/users/{i}" for i in users]
        urls += [f"/admin/users?role={r}" for r in ROLES]
        for kind, model in (("organisation", Organisation), ("site", Site),
                            ("safe_space", SafeSpace), ("service", Service)):
            urls += [f"/admin/directory/{kind}/{i}" for (i,) in session.execute(select(model.id))]
            urls.append(f"/admin/directory/{kind}/new")

        # The auditor: every account's activity, every record type, action and outcome as a
        # filter, one record history per record type seen (the newest record of that type),
        # and the month's cases by number and by id.
        audit += [f"/audit/users/{i}" for i in users]
        actors = session.execute(select(AuditEvent.actor_id).distinct()).scalars()
        audit += [f"/audit/users/{a}" for a in actors if a is not None]
        types = set(session.execute(select(AuditEvent.object_type).distinct()).scalars())
        audit += [f"/audit/events?object_type={t}" for t in sorted(
            {str(t) for t in ObjectType} | {t for t in types if t})]
        actions = session.execute(select(AuditEvent.action).distinct()).scalars()
        audit += [f"/audit/events?action={a}" for a in sorted(actions)]
        audit += [f"/audit/events?outcome={o}" for o in ("allowed", "denied", "error")]
        audit += [f"/audit/events?actor={u}" for u in sorted(users.values())]
        for t in sorted(t for t in types if t):
            newest = session.execute(select(AuditEvent.object_id).where(
                AuditEvent.object_type == t, AuditEvent.object_id.is_not(None))
                .order_by(AuditEvent.seq.desc()).limit(1)).scalar()
            if newest:
                audit.append(f"/audit/objects/{t}/{newest}")
        for label, number in month.numbers.items():
            audit += [f"/audit/events?object_id={number}",
                      f"/audit/events?object_type=case&object_id={month.ids[label]}",
                      f"/audit/objects/case/{month.ids[label]}",
                      f"/audit/objects/case_number/{number}"]
        first = session.execute(select(func.min(AuditEvent.occurred_at))).scalar()
        audit.append("/audit/events?" + urlencode({
            "since": first.strftime("%Y-%m-%dT%H:%M"),
            "until": month.clock.now.strftime("%Y-%m-%dT%H:%M")}))

        coordinator_spaces = {month.world.ids["safe_space"]}
        real = {
            "incident:case_own": [str(i) for c, i in incidents
                                  if str(c) == month.world.ids["case_own"]],
            "random:safe_space.view_session": [str(i) for i, s, _h in sessions
                                               if str(s) in coordinator_spaces],
        }
        real["random:safe_space.edit_session"] = real["random:safe_space.view_session"]
        real["random:cases.transfer_decide"] = [month.ids["transfer_pending"]]
        real["random:field.intake"] = [month.ids["field_intake"]]
        real["random:programme.edit_log"] = logs["awareness"] + logs["trainings"]
        real["file"] = [str(i) for _c, i in files]
        real["shared"] = [str(i) for _r, i in shared]
    assert all(real.values()), "the month has no incident or session to fill the matrix with"
    return real, urls, audit


# --- The crawl ------------------------------------------------------------------------------

@dataclass
class Visit:
    """One request of the crawl."""

    role: str
    url: str
    status: int
    rule: str | None
    endpoint: str | None
    linked_from: str | None


@dataclass(frozen=True)
class Failure:
    """A page that failed: where, what went wrong, and the route pattern it belongs to."""

    url: str
    problem: str
    pattern: str
    linked_from: str | None = None


@dataclass
class Crawl:
    """Every request made, and what failed (by role)."""

    visits: list[Visit] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Crawl: {len(self.visits)} requests>"


def _route(app: Flask, url: str) -> tuple[Rule | None, dict[str, Any], str | None]:
    """The GET rule a URL matches, its arguments, and why not when it matches none."""
    parts = urlsplit(url)
    adapter = app.url_map.bind("localhost")
    try:
        rule, args = adapter.match(parts.path, method="GET", return_rule=True,
                                   query_args=parts.query)
    except MethodNotAllowed:
        return None, {}, "not a GET route"
    except NotFound:
        return None, {}, "no such route"
    except RequestRedirect:
        return None, {}, "redirect"
    return rule, args, None


def _pattern(rule: Rule | None, args: dict[str, Any], url: str) -> tuple[str, ...]:
    """What makes two URLs "the same page": the rule, the values of its fixed choices (and the
    record type of a history), and the names of the query arguments."""
    if rule is None:
        return (urlsplit(url).path,)
    fixed = [str(args[k]) for k, conv in rule._converters.items()
             if isinstance(conv, AnyConverter) or k == "object_type"]
    keys = sorted({k for k, _v in parse_qsl(urlsplit(url).query)})
    return (rule.rule, *fixed, "?" + "&".join(keys) if keys else "")


def _label(pattern: tuple[str, ...]) -> str:
    """A pattern as one would write it: the rule and the names of its query arguments."""
    return pattern[0] + (pattern[-1] if len(pattern) > 1 else "")


def _same_site(base: str, href: str) -> str | None:
    """``href`` as a local path with its query (no fragment), or None if it leaves the site."""
    full = urljoin("http://localhost" + base, href)
    parts = urlsplit(full)
    if parts.scheme not in ("http", "https") or parts.netloc != "localhost":
        return None
    if parts.path.startswith("/static/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _permitted(app: Flask, role: str, endpoint: str) -> bool:
    from types import SimpleNamespace

    from app.auth.policy import AUTHENTICATED, Permission, can, rule_for

    rule = rule_for(app.view_functions.get(endpoint))
    return rule == AUTHENTICATED or (isinstance(rule, Permission)
                                     and can(SimpleNamespace(role=role), rule))


def _crawl_one(month: Month, errors: list[str], role: str, seeds: list[str], crawl: Crawl,
               address: int, remote: str = "10.200.99.1") -> None:
    """One role: the seeds, then the links of the pages (breadth first, capped per pattern).
    An anonymous visitor comes from ``remote``."""
    app = month.app
    failures = crawl.failures.setdefault(role, [])
    if role != ANONYMOUS:
        client = Person(month, role, address=f"10.200.{address}.1").login().client
    else:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = remote
    queue: deque[tuple[str, int, str | None]] = deque((u, 0, None) for u in seeds)
    seen: set[str] = set()
    followed: Counter[tuple[str, ...]] = Counter()
    while queue:
        url, depth, source = queue.popleft()
        if url in seen:
            continue
        rule, args, why = _route(app, url)
        pattern = _pattern(rule, args, url)

        def fail(problem: str, url: str = url, source: str | None = source,
                 pattern: tuple[str, ...] = pattern) -> None:
            failures.append(Failure(url, problem, _label(pattern), source))

        if rule is None and why != "redirect":
            seen.add(url)
            if source is not None:
                fail("a link to a route that does not answer GET" if why == "not a GET route"
                     else "a link to no route at all")
            continue
        if source is not None:
            if followed[pattern] >= PER_PATTERN:
                continue
            followed[pattern] += 1
        seen.add(url)
        errors.clear()
        resp = client.get(url)
        status = resp.status_code
        crawl.visits.append(Visit(role, url, status, rule.rule if rule else None,
                                  rule.endpoint if rule else None, source))
        if status >= 500:
            fail(f"{status}: {'; '.join(errors) or 'no exception seen'}")
            continue
        if status == 405:
            fail("405 for a GET")
        if status == 403 and source is not None:
            fail("403 for a link shown to this role")
        if status in (301, 302, 303, 307, 308):
            target = _same_site(url, resp.location or "")
            if target and urlsplit(target).path == "/auth/login" and role != ANONYMOUS:
                fail("redirected to the login page: the session was lost")
                client = Person(month, role, address=f"10.201.{address}.1").login().client
            elif target:
                queue.appendleft((target, depth, url))
            continue
        if (resp.mimetype or "") != "text/html":
            continue
        html = resp.get_data(as_text=True)
        if not all(marker in html for marker in LAYOUT_MARKERS):
            fail(f"{status}: an HTML page outside the base layout")
        if status != 200 or depth >= MAX_DEPTH:
            continue
        for href in HREF.findall(html):
            target = _same_site(url, unescape(href))
            if target and target not in seen:
                queue.append((target, depth + 1, url))


@pytest.fixture(scope="module")
def crawl(month: tuple[Month, list[str]]) -> Crawl:
    """Every role (and an anonymous visitor) through every page it can reach."""
    seeded, errors = month
    real, urls, audit = _real_ids(seeded)
    matrix = _matrix_urls(seeded, real)
    result = Crawl()
    for n, role in enumerate(CRAWL_ORDER):
        own = [u for u in urls + audit
               if (r := _route(seeded.app, u))[0] is not None
               and _permitted(seeded.app, role, r[0].endpoint)]  # type: ignore[union-attr]
        _crawl_one(seeded, errors, role, matrix + own, result, n)
    public = [u for e, u in PUBLIC.items() if e not in ("static", "main.set_language")]
    _crawl_one(seeded, errors, ANONYMOUS, public, result, 9)  # /metrics: 404 from elsewhere
    # The local Prometheus scraper: loopback, no session (app.observability.routes).
    _crawl_one(seeded, errors, ANONYMOUS, [PUBLIC["metrics.scrape"]], result, 9,
               remote="127.0.0.1")
    return result


def _report(role: str, failures: list[Failure]) -> str:
    """Failures grouped by problem and route pattern, with a count and one example each."""
    groups: dict[tuple[str, str], list[Failure]] = {}
    for f in failures:
        groups.setdefault((f.problem, f.pattern), []).append(f)
    lines = [f"{role}: {len(failures)} failing page(s) in {len(groups)} group(s)"]
    for (problem, pattern), items in sorted(groups.items()):
        first = items[0]
        origin = f" (linked from {first.linked_from})" if first.linked_from else ""
        lines.append(f"  {pattern} x{len(items)} -> {problem}\n      e.g. {first.url}{origin}")
    return "\n".join(lines)


# --- The tests --------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [*CRAWL_ORDER, ANONYMOUS])
def test_every_page_works_after_a_month_of_use(crawl: Crawl, month: Any, role: str) -> None:
    """No 500 (in the month's journeys or the crawl), no page outside the layout, no link to
    a route without GET, no link shown to a role that refuses it, no lost session."""
    seeded = month[0]
    failures = [Failure(url, problem + " (during the month)",
                        _label(_pattern(*_route(seeded.app, url)[:2], url)))
                for who, url, problem in seeded.broken if who == role]
    failures += crawl.failures[role]
    if failures:
        pytest.fail(_report(role, failures), pytrace=False)


def test_every_get_route_was_reached_with_real_records(crawl: Crawl, month: Any) -> None:
    """Each GET route of the app answered (not 403/404) to some role: a new route needs a
    matrix row, a seed or a link before the crawl can pass."""
    app = month[0].app
    allowed = {row.endpoint: row.ok for row in MATRIX}
    reached = {v.rule for v in crawl.visits
               if v.status in OK or v.status in allowed.get(v.endpoint or "", ())}
    routes = {r.rule for r in app.url_map.iter_rules()
              if "GET" in (r.methods or ()) and r.endpoint != "static"}
    missing = sorted(routes - reached)
    assert missing == [], f"GET routes the crawl never reached with a real record: {missing}"
    for role in CRAWL_ORDER:  # every role got somewhere with real records
        assert sum(v.role == role and v.status == 200 for v in crawl.visits) >= 5, role


def test_the_month_is_realistic(month: Any) -> None:
    """The trail holds every kind of step the journeys take, over four weeks and more, and
    events that name a record type without a record (what broke the auditor's pages)."""
    from sqlalchemy import func, select

    from app.audit.models import AuditEvent
    from app.db import db

    seeded = month[0]
    with seeded.app.app_context():
        actions = set(db.session.execute(select(AuditEvent.action).distinct()).scalars())
        first, last = db.session.execute(select(func.min(AuditEvent.occurred_at),
                                                func.max(AuditEvent.occurred_at))).one()
        typeless = db.session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.object_type.is_not(None), AuditEvent.object_id.is_(None))).scalar()
    assert sorted(JOURNEY_ACTIONS - actions) == []
    assert last - first >= timedelta(days=28)
    assert typeless and typeless > 0


JOURNEY_ACTIONS = {
    "system.demo_seed", "auth.login", "auth.login_failed", "auth.lockout", "auth.mfa_failed",
    "auth.mfa_enrolled", "auth.logout", "auth.quick_lock", "auth.session_timeout",
    "auth.session_revoked", "auth.password_reset", "auth.recovery_codes_regenerated",
    "user.create", "user.update", "user.deactivate", "user.password_reset_issued",
    "user.sessions_revoked", "user.list", "user.grant_request", "user.grant_approve",
    "user.grant_refuse", "service.create", "site.create",
    "activity_type.create", "activity_type.update", "case.search", "case.create", "case.list",
    "tasks.view", "case.view", "consent.record", "incident.create", "assessment.update",
    "action_item.create", "action_item.update", "follow_up.create", "follow_up.update",
    "note.create", "case.status_change", "case.assign", "case.plan_approve",
    "case.closure_request", "case.closure_approve", "case.closure_reject", "case.reopen",
    "case.erase", "break_glass.open", "referral.create", "referral.consent_override",
    "referral.view", "referral.accept", "referral.decline", "referral.complete",
    "referral.revoke", "wgss_session.create", "wgss_session.update", "wgss_session.view",
    "wgss_summary.view", "wgss_summary.export", "audit.search", "audit.view", "audit.verify",
    "audit.export", "audit.alerts_view", "case.transfer_request", "case.transfer_cancel",
    "case.transfer_view", "case.transfer_list", "case.transfer_accept", "case.transfer_receive",
    "pledge.publish", "pledge.accept", "pledge.view", "organisation.sso_update",
    "user.sso_link", "user.sso_unlink",
    "field.intakes_list", "field.intake_view", "field.intake_open_case",
    "field.team_intakes_list", "field.intake_handover",
}
