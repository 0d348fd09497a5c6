"""A realistic month of Amana, seeded through the app as people use it, for the journey crawl.

``seed_month`` runs ``flask demo seed`` on top of the test world, then plays about thirty days
of work through the Flask test client, every journey of the browser tests and more: cases
opened at two sites (an adult, a child, one later erased), consent given and withdrawn,
incidents, assessments, action plans, follow-ups, notes, workflow steps, a closure approved
and one sent back, a reopening; referrals sent, accepted, declined, completed, revoked by hand
and by withdrawn consent, one under a supervisor override; safe-space sessions across the
month with a correction; break-glass granted and refused; logins with a wrong password or
code, a lockout, logouts, quick-locks and idle timeouts; first-login enrolment and a reset
code used; an administrator's accounts and directory; an auditor's searches, exports and
verification. The clock moves forward between steps, so the trail spans the month.

Forms are filled from the pages themselves (``Page.form``): the fields a page offers keep the
values it shows unless a step says otherwise, as a person's browser would send them. A step
that does not do what it should stops the seeding with the account, the request, the status
and the names of the fields refused (never page content), so the crawl never runs on a month
that silently did not happen. A page that answers 500 on the way is noted instead (``broken``)
and reported by the crawl under the role that met it.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from unittest.mock import patch
from urllib.parse import urljoin, urlsplit

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from app import demo
from tests.helpers.factories import World
from tests.helpers.field import intake_fields, make_intake
from tests.helpers.incidents import incident_form, perpetrator_fields
from tests.helpers.login import PASSWORD
from tests.helpers.passkeys import SoftAuthenticator, options_on

NEW_PASSWORD = "violet lantern orchard ripple 42"
# The demo seed's sites under other case-number prefixes: site codes are unique across
# organisations and the test world already uses BEN and TRI.
DEMO_SITES = (("Benghazi", "DBN"), ("Misrata", "DMS"), ("Sabha", "DSB"), ("Tripoli", "DTR"))


# --- Pages and forms -----------------------------------------------------------------------

@dataclass
class Button:
    """A submit button: its name and value are sent only when it is the one pressed."""

    name: str | None
    value: str
    formaction: str | None


@dataclass
class Form:
    """One <form>: where it goes and what a browser would send without the user typing."""

    action: str | None
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)


@dataclass
class _Select:
    name: str
    multiple: bool
    options: list[tuple[str, bool]] = field(default_factory=list)


class _Parser(HTMLParser):
    """The forms of a page (stdlib only: the app's own markup is simple and valid)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: _Select | None = None
        self._textarea: list[str] | None = None
        self._option: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._form = Form(a.get("action"), (a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "image", "button", "reset"):
                if kind == "submit":
                    form.buttons.append(Button(name, a.get("value") or "", a.get("formaction")))
            elif not name or kind == "file":
                return
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields.append((name, a.get("value") or "on"))
            else:
                form.fields.append((name, a.get("value") or ""))
        elif tag == "button" and (a.get("type") or "submit").lower() == "submit":
            form.buttons.append(Button(name, a.get("value") or "", a.get("formaction")))
        elif tag == "select" and name:
            self._select = _Select(name, "multiple" in a)
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), "selected" in a, ""]
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1] += data
        if self._option is not None:
            self._option[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None and self._select is not None:
            value, selected, text = self._option
            self._select.options.append((value if value is not None else text.strip(), selected))
            self._option = None
        elif tag == "select" and self._select is not None:
            sel, self._select = self._select, None
            chosen = [v for v, on in sel.options if on]
            if not sel.multiple and not chosen and sel.options:
                chosen = [sel.options[0][0]]  # a browser sends the first option
            if self._form is not None:
                self._form.fields.extend((sel.name, v) for v in chosen)
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            if self._form is not None:
                self._form.fields.append((name, text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


@dataclass
class Page:
    """A fetched page: its URL, the response and its forms."""

    url: str
    response: TestResponse
    forms: list[Form]

    @classmethod
    def of(cls, url: str, response: TestResponse) -> Page:
        """The page of ``response`` (forms are read from HTML only)."""
        parser = _Parser()
        if (response.mimetype or "") == "text/html":
            parser.feed(response.get_data(as_text=True))
        return cls(url, response, parser.forms)

    @property
    def html(self) -> str:
        """The page's text."""
        return self.response.get_data(as_text=True)

    def form(self, action: str, button: str | None = None) -> tuple[str, Form, Button | None]:
        """The form posting to ``action`` (a path), the URL it posts to, and the button to
        press (the one whose value is ``button``, or whose own ``formaction`` is ``action``)."""
        want = urlsplit(urljoin(self.url, action)).path
        for form in self.forms:
            target = urlsplit(urljoin(self.url, form.action or self.url)).path
            for b in form.buttons:
                if b.formaction and urlsplit(urljoin(self.url, b.formaction)).path == want:
                    return want, form, b
            if target == want and form.method == "post":
                pressed = next((b for b in form.buttons if button is not None and b.value == button),
                               None)
                return want, form, pressed
        raise AssertionError(f"no form posting to {want} on {urlsplit(self.url).path}")


def form_data(form: Form, values: Mapping[str, Any], pressed: Button | None) -> MultiDict[str, str]:
    """What the browser sends: the form's own values, with ``values`` typed or chosen over
    them (a list for several choices, None to leave a field out)."""
    out: MultiDict[str, str] = MultiDict([(k, v) for k, v in form.fields if k not in values])
    for key, value in values.items():
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            out.add(key, item.isoformat() if isinstance(item, date) else str(item))
    if pressed is not None and pressed.name:
        out.add(pressed.name, pressed.value)
    return out


def refusals(resp: TestResponse) -> list[str]:
    """Which fields a re-shown form marks as wrong, and the kinds of flash shown (names and
    categories only, never what was typed)."""
    html = resp.get_data(as_text=True)
    return sorted(set(re.findall(r'id="([\w-]+)-error-\d+"', html))
                  | {f"flash-{c}" for c in re.findall(r'class="flash flash-(\w+)"', html)})


def location_id(response: TestResponse, prefix: str) -> str:
    """The id in a redirect to ``prefix<id>...``."""
    path = urlsplit(response.location or "").path
    assert path.startswith(prefix), f"redirected to {path}, expected {prefix}…"
    return path[len(prefix):].split("/")[0]


# --- People --------------------------------------------------------------------------------

class Person:
    """Someone at a browser: a test client with their own address, logging in as they do."""

    def __init__(self, month: Month, username: str, *, password: str = PASSWORD,
                 secret: str | None = None, address: str = "10.0.0.1") -> None:
        self.month, self.username, self.password = month, username, password
        self.secret = secret or month.world.secrets.get(username)
        self.role = month.role_of(username)
        self.client: FlaskClient = month.app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = address
        self.client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (journey)"

    def get(self, path: str, expect: Iterable[int] = (200,)) -> Page:
        """Open a page (a 500 is noted for the crawl; any other unexpected status stops)."""
        resp = self.client.get(path)
        if resp.status_code >= 500:
            # A page that breaks during the month is the crawl's finding, not a seeding error:
            # the month goes on, and the crawl reports it under the role that met it.
            self.month.broken.append((self.role, path, f"{resp.status_code}: "
                                                       f"{'; '.join(self.month.errors[-1:])}"))
        else:
            assert resp.status_code in tuple(expect), (self.username, "GET", path,
                                                       resp.status_code)
        return Page.of(path, resp)

    def submit(self, page: str | Page, action: str, values: Mapping[str, Any] | None = None, *,
               button: str | None = None, expect: Iterable[int] = (302,)) -> TestResponse:
        """Open ``page`` (unless given), fill the form that posts to ``action``, send it."""
        shown = self.get(page) if isinstance(page, str) else page
        url, form, pressed = shown.form(action, button)
        resp = self.client.post(url, data=form_data(form, values or {}, pressed))
        assert resp.status_code in tuple(expect), (self.username, "POST", url, resp.status_code,
                                                   refusals(resp), self.month.errors[-1:])
        return resp

    def post(self, url: str, values: Mapping[str, Any], *,
             expect: Iterable[int] = (302,)) -> TestResponse:
        """Send a form as a page would, without opening that page first (its CSRF token is
        the session's, taken from the account page)."""
        token = dict(self.get("/auth/sessions").forms[-1].fields)["csrf_token"]
        resp = self.client.post(url, data=form_data(Form(url, "post"), {
            **values, "csrf_token": token}, None))
        assert resp.status_code in tuple(expect), (self.username, "POST", url, resp.status_code)
        return resp

    def code(self) -> str:
        """The authenticator's current code."""
        assert self.secret, f"{self.username} has no authenticator"
        self.month.clock.advance(seconds=31)  # past the last used time step: never a replay
        return pyotp.TOTP(self.secret).at(self.month.clock.now)

    def login(self, *, wrong_password: bool = False, wrong_code: bool = False) -> Person:
        """Password then code, as a person does (optionally getting one of them wrong first)."""
        if wrong_password:
            self.submit("/auth/login", "/auth/login",
                        {"username": self.username, "password": "not my password at all"},
                        expect=(200,))
        resp = self.submit("/auth/login", "/auth/login",
                           {"username": self.username, "password": self.password})
        if urlsplit(resp.location or "").path == "/auth/mfa/enrol":
            return self.enrol()
        assert urlsplit(resp.location or "").path == "/auth/mfa", (self.username, resp.location)
        if wrong_code:
            self.submit("/auth/mfa", "/auth/mfa", {"code": "000000"}, expect=(200,))
        self.submit("/auth/mfa", "/auth/mfa", {"code": self.code()})
        return self.accept_pledge()

    def accept_pledge(self) -> Person:
        """When the organisation published a pledge this account has not accepted (every page
        leads there), read it and tick "I accept", as a person must before anything else."""
        from app.auth.models import User
        from app.db import db
        from app.directory.models import Organisation

        with self.month.app.app_context():
            accepted, current = db.session.execute(
                select(User.pledge_accepted, Organisation.pledge_number)
                .join(Organisation, Organisation.id == User.organisation_id)
                .where(User.username == self.username)).one()
        if current is not None and accepted != current:
            self.submit("/auth/pledge", "/auth/pledge", {"accept": "y"})
        return self

    def enrol(self) -> Person:
        """First login: read the key from the page (as from the QR code), confirm a code."""
        page = self.get("/auth/mfa/enrol")
        self.get("/auth/mfa/qr.svg")
        marker = 'id="totp-secret">'
        start = page.html.index(marker) + len(marker)
        self.secret = page.html[start:page.html.index("<", start)].replace(" ", "")
        self.submit(page, "/auth/mfa/enrol", {"code": self.code()}, expect=(200,))
        return self.accept_pledge()

    def logout(self) -> None:
        """The "Log out" button of the header."""
        self.submit("/", "/auth/logout")

    def lock(self) -> None:
        """The "Lock now" button of the header (a shared device)."""
        self.submit("/", "/auth/lock")

    def walk_away(self) -> None:
        """Leave the session open until it times out; the next request finds it ended."""
        self.month.clock.advance(minutes=20)
        resp = self.client.get("/cases/")
        assert resp.status_code == 302 and "/auth/login" in (resp.location or ""), self.username


# --- The month -----------------------------------------------------------------------------

@dataclass
class Month:
    """The app, the world and what the month created (ids by kind)."""

    app: Flask
    world: World
    clock: Any
    start: datetime
    ids: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # where the app's 500s were raised
    broken: list[tuple[str, str, str]] = field(default_factory=list)  # (role, page, error)

    def __repr__(self) -> str:
        return f"<Month: {len(self.ids)} records, clock at {self.clock.now:%Y-%m-%d %H:%M}>"

    def role_of(self, username: str) -> str:
        """An account's role (``anonymous`` for a name no account has)."""
        from app.auth.models import User

        role = self.scalar(select(User.role).where(User.username == username))
        return str(role) if role else "anonymous"

    def day(self, n: int, hour: int = 9, minute: int = 0) -> None:
        """Move the clock to day ``n`` of the month (never backwards)."""
        target = (self.start + timedelta(days=n)).replace(hour=hour, minute=minute)
        if target > self.clock.now:
            self.clock.advance(seconds=(target - self.clock.now).total_seconds())

    def later(self, minutes: float = 3) -> None:
        """A few minutes pass."""
        self.clock.advance(minutes=minutes)

    def person(self, username: str, n: int, **kw: Any) -> Person:
        """Someone at a new browser; ``n`` picks their network (each has its own address)."""
        return Person(self, username, address=f"10.{n}.{len(self.ids) % 250}.7", **kw)

    def today(self) -> date:
        """The month's current date."""
        return self.clock.now.date()

    def scalar(self, stmt: Any) -> Any:
        """The first value a query returns (to learn the id of what a step created)."""
        from app.db import db

        with self.app.app_context():
            return db.session.execute(stmt).scalars().first()


def _case(month: Month, who: Person, label: str, site: str, name: str, **values: Any) -> str:
    """Search first (nothing found), then open a case; returns its id."""
    who.submit("/cases/search", "/cases/search", {"name": name}, expect=(200,))
    resp = who.submit("/cases/new", "/cases/new", {
        "site": month.world.ids[site], "full_name": name, "sex": "female",
        "displacement_status": "idp", "nationality_group": "national", "disability": "unknown",
        **values})
    case_id = location_id(resp, "/cases/")
    month.ids[label] = case_id
    from app.cases.models import Case

    month.numbers[label] = month.scalar(select(Case.case_number).where(
        Case.id == uuid.UUID(case_id)))
    return case_id


def _consent(who: Person, case_id: str, kind: str, granted: bool = True,
             **values: Any) -> None:
    resp = who.submit(f"/cases/{case_id}", f"/cases/{case_id}/consent", {
        "kind": kind, "granted": "yes" if granted else "no", "given_by": "survivor",
        "method": "verbal", **values})
    assert urlsplit(resp.location or "").path == f"/cases/{case_id}"


def _incident(month: Month, who: Person, case_id: str, days_ago: int, **answers: Any) -> str:
    from app.cases.models import Incident

    when = month.today() - timedelta(days=days_ago)
    who.submit(f"/cases/{case_id}/incidents/new", f"/cases/{case_id}/incidents/new", {
        **incident_form(*[k for k, v in answers.items() if v == "yes"],
                        survivor_age_at_incident="28", narrative="Journey narrative, sealed.",
                        **perpetrator_fields(0, relationship="armed_actor")),
        "incident_date": when, "reported_date": month.today()})
    found = month.scalar(select(Incident.id).where(Incident.case_id == uuid.UUID(case_id))
                         .order_by(Incident.id.desc()))
    return str(found)


def _status(who: Person, case_id: str, to: str) -> None:
    who.submit(f"/cases/{case_id}", f"/cases/{case_id}/status", {"to_status": to})


def _referral(month: Month, who: Person, case_id: str, service: str, label: str,
              **values: Any) -> str:
    resp = who.submit(f"/referrals/new/{case_id}", f"/referrals/new/{case_id}", {
        "service": service, "urgency": "normal", "message": "Journey message, sealed.",
        **values})
    month.ids[label] = location_id(resp, "/referrals/")
    return month.ids[label]


def _attach(month: Month, who: Person, case_id: str, label: str, data: bytes,
            name: str, kind: str) -> str:
    """Attach a file from the case page's form (multipart, as a browser sends it)."""
    from app.attachments.models import Attachment

    action = f"/cases/{case_id}/attachments"
    url, form, _pressed = who.get(f"/cases/{case_id}").form(action)
    values = form_data(form, {"attachment-kind": kind}, None)
    body: dict[str, Any] = {k: values.getlist(k) for k in values}
    body["attachment-file"] = (io.BytesIO(data), name)
    resp = who.client.post(url, data=body, content_type="multipart/form-data")
    assert resp.status_code == 302, (who.username, "POST", url, resp.status_code, refusals(resp))
    month.ids[label] = str(month.scalar(select(Attachment.id).where(
        Attachment.case_id == uuid.UUID(case_id)).order_by(Attachment.uploaded_at.desc(),
                                                           Attachment.id.desc())))
    return month.ids[label]


def _wgss(month: Month, who: Person, space: str, days_ago: int, activity: str, topic: str,
          bands: tuple[int, int, int, int], new: int) -> str:
    from app.safe_space.models import ActivityType

    type_id = month.scalar(select(ActivityType.id).where(ActivityType.code == activity))
    total = sum(bands)
    resp = who.submit("/safe-spaces/sessions/new", "/safe-spaces/sessions/new", {
        "safe_space": month.ids.get(space) or month.world.ids[space],
        "held_on": month.today() - timedelta(days=days_ago), "activity_type": str(type_id),
        "topic": topic, "duration_minutes": "90",
        "girls_10_14": bands[0], "girls_15_19": bands[1], "women_20_24": bands[2],
        "women_25_49": bands[3], "new_participants": new,
        "returning_participants": total - new, "with_disabilities": min(1, total),
        "case_management_requests": 0, "referrals_made": 0,
        "notes": "Journey session notes, no names."})
    session_id = location_id(resp, "/safe-spaces/sessions/")
    month.ids[f"wgss_{len([k for k in month.ids if k.startswith('wgss_')])}"] = session_id
    return session_id


def _programme_logs(month: Month, co: Person) -> None:
    """The coordinator logs an awareness session and a staff training at her site, corrects
    the session, and reads both lists."""
    from app.programme.models import AwarenessSession

    site = month.world.ids["tripoli"]
    co.get("/programme/")
    co.submit(f"/programme/awareness/new?site={site}", "/programme/awareness/new", {
        "held_on": month.today() - timedelta(days=2), "topic": "services_referral_pathway",
        "female_15_19": 6, "female_25_49": 9, "male_15_19": 4})
    co.submit(f"/programme/trainings/new?site={site}", "/programme/trainings/new", {
        "held_on": month.today() - timedelta(days=1), "topic": "psychological_first_aid",
        "female_own": 5, "male_own": 1, "female_partner": 3})
    session = month.scalar(select(AwarenessSession.id).order_by(
        AwarenessSession.created_at.desc()).limit(1))
    co.submit(f"/programme/awareness/{session}", f"/programme/awareness/{session}",
              {"male_20_24": 2})
    co.get(f"/programme/sites/{site}/awareness")
    co.get(f"/programme/sites/{site}/trainings")


def _shown_code(resp: TestResponse) -> str:
    """The one-time reset code on the page an admin gets (shown once)."""
    html = resp.get_data(as_text=True)
    marker = 'id="reset-code">'
    assert marker in html, ("no one-time code shown", refusals(resp))
    start = html.index(marker) + len(marker)
    return html[start:html.index("<", start)]


def _second_admin(month: Month, admin2: Person, user_id: str, op: str = "approve") -> TestResponse:
    """A second admin decides the request waiting for ``user_id`` on the approvals page."""
    from app.auth.models import RoleGrant

    grant = month.scalar(select(RoleGrant.id).where(
        RoleGrant.user_id == uuid.UUID(user_id), RoleGrant.status == "pending"))
    assert grant is not None, "no request waits for a second admin"
    return admin2.submit("/admin/grants", f"/admin/grants/{grant}/{op}", expect=(200, 302))


def _reset_code(month: Month, admin: Person, admin2: Person, user_id: str) -> str:
    """Ask for a reset code for an account; when a second admin must approve it, they do, and
    they are the one shown the code."""
    resp = admin.submit(f"/admin/users/{user_id}", f"/admin/users/{user_id}/reset-password",
                        expect=(200, 302))
    if resp.status_code == 302:
        resp = _second_admin(month, admin2, user_id)
    return _shown_code(resp)


def seed_month(app: Flask, world: World, clock: Any, errors: list[str]) -> Month:
    """The demo seed plus a month of work on the test world; returns what it created."""
    from app.auth.models import User
    from app.db import db
    from app.directory.models import Service
    from app.safe_space.models import ActivityType

    month = Month(app, world, clock, clock.now, errors=errors)
    with app.app_context(), patch.object(demo, "SITES", DEMO_SITES):
        demo.seed()  # ``flask demo seed``: the demo organisation, its accounts and sessions
        db.session.remove()
    ids, w = month.ids, world.ids

    # Day 0. The administrator sets up a clinical service, a new activity type and two
    # accounts (each gets a one-time reset code), and looks around.
    month.day(0, 10, 30)
    admin = month.person("admin", 1).login()
    admin.get("/admin/directory")
    admin.submit("/admin/directory/service/new", "/admin/directory/service/new", {
        "organisation": w["org"], "name": "Clinical care", "service_type": "health_medical",
        "sites": [w["tripoli"], w["benghazi"]]})
    ids["clinical"] = str(month.scalar(select(Service.id).where(Service.name == "Clinical care")))
    admin.submit("/admin/directory/site/new", "/admin/directory/site/new", {
        "organisation": w["org"], "name": "Misrata", "code": "MIS"})
    admin.get(f"/admin/directory/service/{ids['clinical']}")
    admin.submit("/safe-spaces/activity-types/new", "/safe-spaces/activity-types/new", {
        "code": "cooking_group", "label": "Cooking group"})
    ids["activity_type"] = str(month.scalar(select(ActivityType.id).where(
        ActivityType.code == "cooking_group")))
    admin.submit(f"/safe-spaces/activity-types/{ids['activity_type']}",
                 f"/safe-spaces/activity-types/{ids['activity_type']}",
                 {"label": "Cooking and nutrition group"})
    # A caseworker's account waits for a second admin, who approves it and gets its code.
    codes = {}
    admin2 = month.person("admin2", 13).login()
    for username, role, extra in (
            ("coordinator2", "wgss_coordinator", {"sites": w["benghazi"],
                                                  "safe_spaces": w["safe_space2"],
                                                  "display_name": "Layla Coordinator"}),
            ("temp_manager", "program_manager", {"display_name": "Omar Interim"}),
            ("caseworker_new", "caseworker", {"sites": w["tripoli"],
                                              "display_name": "Rania Newcomer"})):
        resp = admin.submit("/admin/users/new", "/admin/users/new", {
            "username": username, "role": role, "organisation": w["org"], **extra},
            expect=(200, 302))
        ids[username] = str(month.scalar(select(User.id).where(User.username == username)))
        if resp.status_code == 302:
            resp = _second_admin(month, admin2, ids[username])
        codes[username] = _shown_code(resp)
    admin.get("/admin/users?role=caseworker&status=active")
    admin.logout()
    admin2.lock()

    # Day 0. The caseworker (one wrong password, one wrong code) opens an adult's case and
    # works it through, refers to MHPSS and to clinical care, opens a child's case and a
    # third one that will be erased.
    month.day(0, 11)
    cw = month.person("caseworker", 2).login(wrong_password=True, wrong_code=True)
    cw.get("/cases/")
    cw.get("/cases/tasks")
    # Before going out with the mobile unit, the caseworker prepares Field intake (both
    # languages, the setup with the organisation's key, the worker).
    cw.get("/field/", expect=(302,))
    for path in ("/field/shell/en", "/field/shell/ar", "/field/setup.json", "/field/sw.js"):
        cw.get(path)
    a = _case(month, cw, "case_a", "tripoli", "Amira Journeyone", estimated_age="29",
              phone="+218 91 555 0101", safe_contact="Mornings only.")
    _consent(cw, a, "services")
    ids["incident_a"] = _incident(month, cw, a, 1, penetration="yes")
    cw.submit(f"/cases/{a}/assessment", f"/cases/{a}/assessment", {
        "risk_level": "high", "needs": ["health_medical", "mhpss"],
        "notes": "Assessment notes.", "safety_plan": "Safety plan."})
    cw.submit(f"/cases/{a}/actions/new", f"/cases/{a}/actions/new", {
        "goal": "Clinical care within 72 hours", "service_type": "health_medical",
        "due_on": month.today() + timedelta(days=2)})
    cw.submit(f"/cases/{a}/actions/new", f"/cases/{a}/actions/new", {
        "goal": "Counselling sessions", "service_type": "mhpss",
        "due_on": month.today() + timedelta(days=10)})
    cw.submit(f"/cases/{a}", f"/cases/{a}/follow-ups", {
        "follow_up-due_on": month.today() + timedelta(days=3), "follow_up-notes": "Call."})
    cw.submit(f"/cases/{a}", f"/cases/{a}/notes", {"body": "First meeting went well."})
    # A scanned consent form and a phone photo of a medical certificate (app/attachments).
    from tests.helpers.files import jpeg_with_gps, pdf_bytes

    _attach(month, cw, a, "file_a_consent", pdf_bytes(), "consent.pdf", "consent_form")
    _attach(month, cw, a, "file_a_certificate", jpeg_with_gps(), "IMG_1.jpg",
            "medical_certificate")
    cw.get(f"/cases/{a}/attachments/{ids['file_a_consent']}")
    _status(cw, a, "assessment")
    _consent(cw, a, "share:mhpss", share_fields=["full_name", "phone", "attachments"])
    _consent(cw, a, "share:health_medical", share_fields=["full_name"])
    _referral(month, cw, a, w["mhpss"], "ref_a_mhpss", fields=["full_name"],
              attachments=[ids["file_a_certificate"]])
    _referral(month, cw, a, ids["clinical"], "ref_a_clinical", urgency="high")
    cw.get(f"/referrals/{ids['ref_a_clinical']}/sent")
    month.later()
    b = _case(month, cw, "case_b", "tripoli", "Nour Journeytwo", estimated_age="15")
    _consent(cw, b, "services", child_assent="yes", caregiver_not_asked_reason="no_caregiver")
    cw.submit(f"/cases/{b}", f"/cases/{b}/notes", {"body": "Met with a trusted adult."})
    _status(cw, b, "assessment")
    c = _case(month, cw, "case_c", "tripoli", "Salma Journeythree", estimated_age="41")
    _consent(cw, c, "services")
    cw.logout()

    # Day 0 afternoon. The service provider accepts the new referral and declines the world's.
    month.day(0, 14)
    sp = month.person("service_provider", 3).login()
    sp.get("/referrals/inbox")
    ref = ids["ref_a_mhpss"]
    sp.submit(f"/referrals/{ref}", f"/referrals/{ref}/accept")
    shared = re.search(rf"/referrals/{ref}/files/[0-9a-f-]{{36}}", sp.get(f"/referrals/{ref}").html)
    assert shared is not None, "the shared certificate is not on the referral page"
    sp.get(shared.group(0))  # the provider downloads the certificate
    sp.submit(f"/referrals/{w['ref_mhpss']}", f"/referrals/{w['ref_mhpss']}/decline",
              {"note": "No capacity this month; try the partner clinic."})
    sp.lock()

    # Day 1. The new coordinator and caseworker set passwords with their reset codes and
    # enrol; a caseworker at the other site opens a case there.
    month.day(1, 8, 45)
    co2 = month.person("coordinator2", 12, password=NEW_PASSWORD)
    co2.submit("/auth/reset", "/auth/reset", {"token": codes["coordinator2"],
                                              "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    co2.login()
    co2.get("/safe-spaces/")
    co2.logout()
    newcomer = month.person("caseworker_new", 14, password=NEW_PASSWORD)
    newcomer.submit("/auth/reset", "/auth/reset", {"token": codes["caseworker_new"],
                                                   "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    newcomer.login()
    newcomer.get("/cases/")
    newcomer.logout()
    month.day(1, 9, 30)
    cwb = month.person("caseworker_b", 4).login()
    d = _case(month, cwb, "case_d", "benghazi", "Huda Journeyfour", estimated_age="33")
    _consent(cwb, d, "services")
    ids["incident_d"] = _incident(month, cwb, d, 40, penetration="no", physical="yes")
    cwb.submit(f"/cases/{d}", f"/cases/{d}/notes", {"body": "Referred by the clinic."})
    cwb.logout()

    # Day 2. The coordinator logs two sessions and corrects one; newbie enrols at first login.
    month.day(2, 16)
    co = month.person("wgss_coordinator", 5).login()
    co.get("/safe-spaces/")
    first = _wgss(month, co, "safe_space", 0, "psychosocial_support", "Coping with stress",
                  (2, 3, 0, 4), 4)
    co.get(f"/safe-spaces/sessions/{first}")
    second = _wgss(month, co, "safe_space", 1, "life_skills", "Communication", (4, 5, 0, 0), 2)
    co.submit(f"/safe-spaces/sessions/{second}/edit", f"/safe-spaces/sessions/{second}/edit",
              {"topic": "Communication at home"})
    co.get(f"/safe-spaces/{w['safe_space']}/summary")
    co.logout()
    newbie = month.person("newbie", 6).login()
    newbie.submit("/auth/sessions", "/auth/recovery-codes", expect=(200,))
    newbie.logout()

    # Day 3. The supervisor approves the plan, adds a second caseworker, uses break-glass
    # (granted for the other site's case, refused for a number that does not exist) and
    # refers to the partner's legal aid under an override.
    month.day(3, 10)
    sup = month.person("supervisor", 7).login()
    sup.get("/cases/?status=assessment&risk=high&sort=risk")
    sup.get("/cases/tasks")
    sup.submit(f"/cases/{a}", f"/cases/{a}/plan/approve", button="approve")
    sup.submit(f"/cases/{a}/assign", f"/cases/{a}/assign",
               {"secondary": world.users["caseworker2"]})
    resp = sup.submit("/cases/break-glass", "/cases/break-glass", {
        "case_number": month.numbers["case_d"], "reason_code": "survivor_at_other_site",
        "justification": "Survivor arrived at our clinic at night, her caseworker is away."})
    assert location_id(resp, "/cases/") == d
    sup.get(f"/cases/{d}")
    sup.submit("/cases/break-glass", "/cases/break-glass", {
        "case_number": "TRI-1999-99999", "reason_code": "team_unreachable",
        "justification": "Checking an old number given over the phone by a colleague."},
        expect=(200,))
    _referral(month, sup, a, w["legal"], "ref_a_legal", urgency="high",
              override_code="other",
              override_reason="Survivor asked for legal aid verbally, form follows.")
    sup.logout()

    # Day 4. The caseworker works the plan, ends an old session from another device, and
    # leaves the browser open until it times out.
    month.day(4, 9)
    from app.auth.models import AuthSession

    month.person("caseworker", 8).login()  # on a phone, left signed in
    phone = month.scalar(select(AuthSession.id).where(
        AuthSession.user_id == uuid.UUID(world.users["caseworker"]))
        .order_by(AuthSession.created_at.desc()))
    month.later()
    cw = month.person("caseworker", 2).login()
    cw.submit("/auth/sessions", f"/auth/sessions/{phone}/end")
    from app.cases.models import ActionItem, FollowUp

    visit = month.scalar(select(FollowUp.id).where(FollowUp.case_id == uuid.UUID(a)))
    cw.submit(f"/cases/{a}", f"/cases/{a}/follow-ups/{visit}/done")
    cw.submit(f"/cases/{a}", f"/cases/{a}/follow-ups", {
        "follow_up-due_on": month.today() + timedelta(days=7)})
    item = month.scalar(select(ActionItem.id).where(ActionItem.case_id == uuid.UUID(a)))
    ids["action_item_a"] = str(item)
    cw.submit(f"/cases/{a}/actions/{item}", f"/cases/{a}/actions/{item}",
              {"status": "in_progress"})
    _status(cw, a, "action_plan")
    _status(cw, a, "implementation")
    cw.get(f"/referrals/{ids['ref_a_mhpss']}/sent")
    cw.walk_away()

    # Day 5. A reset code for caseworker2 (approved by a second admin), who sets a new password
    # and adds a note; a request to give survivor data to the temporary manager is refused.
    month.day(5, 8, 30)
    admin = month.person("admin", 1).login()
    admin2 = month.person("admin2", 13).login()
    reset = _reset_code(month, admin, admin2, world.users["caseworker2"])
    # Making the temporary manager a supervisor (survivor data) is asked and refused.
    admin.submit(f"/admin/users/{ids['temp_manager']}", f"/admin/users/{ids['temp_manager']}",
                 {"role": "supervisor", "sites": w["tripoli"]})
    if month.scalar(select(User.role).where(User.username == "temp_manager")) != "supervisor":
        _second_admin(month, admin2, ids["temp_manager"], "refuse")
    # The organisation's confidentiality pledge is published (and the publisher accepts it,
    # as everyone does at their next page); a correction follows as a second version.
    admin.submit("/admin/pledge/new", "/admin/pledge/new", {
        "text_en": "I keep confidential everything I learn about survivors.\n\n"
                   "I never share a survivor's details outside the case.",
        "text_ar": "أحافظ على سرية كل ما أعرفه عن الناجيات."})
    admin.accept_pledge()
    admin.submit("/admin/pledge/new", "/admin/pledge/new", {
        "text_en": "I keep confidential everything I learn about survivors.\n\n"
                   "I never share a survivor's details outside the case, nor on my phone."})
    admin.accept_pledge()
    # Single sign-on: the organisation allows it; caseworker2's account is linked to its
    # subject at the provider (a credential: a second admin approves), and a link made to the
    # temporary manager's account by mistake is removed.
    sso = f"/admin/directory/organisation/{w['org']}/sso"
    admin.submit(sso, sso, {"enabled": "y"})
    cw2_id, manager = world.users["caseworker2"], ids["temp_manager"]
    admin.submit(f"/admin/users/{cw2_id}", f"/admin/users/{cw2_id}/sso",
                 {"subject": "journey-subject-0002"})
    _second_admin(month, admin2.accept_pledge(), cw2_id)
    admin.submit(f"/admin/users/{manager}", f"/admin/users/{manager}/sso",
                 {"subject": "journey-subject-0099"})
    admin.submit(f"/admin/users/{manager}", f"/admin/users/{manager}/sso/unlink")
    admin.get("/admin/pledge")
    admin.logout()
    admin2.accept_pledge()
    admin2.logout()
    cw2 = month.person("caseworker2", 9, password=NEW_PASSWORD)
    cw2.submit("/auth/reset", "/auth/reset", {"token": reset, "new": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD})
    cw2.login()
    _consent(cw2, w["case_other"], "services")
    cw2.submit(f"/cases/{w['case_other']}", f"/cases/{w['case_other']}/notes",
               {"body": "Checked in by phone."})
    cw2.get(f"/cases/{a}")
    cw2.logout()

    # Day 7. MHPSS records the sessions given, refers the survivor on to clinical care (within
    # the consent for it, never wider than what MHPSS received), then completes the referral.
    month.day(7, 15)
    sp = month.person("service_provider", 3).login()
    sp.submit(f"/referrals/{ref}", f"/referrals/{ref}/services", {
        "given_on": month.today(), "service_code": "counselling_session",
        "notes": "Six counselling sessions; sleeping better."})
    sp.submit(f"/referrals/{ref}/onward", f"/referrals/{ref}/onward", {
        "service": ids["clinical"], "urgency": "normal", "fields": ["full_name"],
        "message": "Please see her for a check-up."})
    sp.submit(f"/referrals/{ref}", f"/referrals/{ref}/complete",
              {"note": "Six sessions done; follow-up in a month.", "outcome": "provided",
               "confirm": "y"})
    sp.get(f"/referrals/{ref}")
    sp.logout()

    # Day 8. Someone guesses an account name until it locks; the auditor mistypes once.
    month.day(8, 2, 15)
    attacker = month.person("administrator", 66)
    for _ in range(6):
        attacker.submit("/auth/login", "/auth/login",
                        {"username": "administrator", "password": "Password123!"},
                        expect=(200,))
    month.day(8, 9)
    month.person("auditor", 10).login(wrong_password=True).logout()

    # Day 9. The survivor withdraws consent to share with clinical care (its referral is
    # revoked at once); another MHPSS referral is sent in error and revoked; closure asked.
    month.day(9, 10)
    cw = month.person("caseworker", 2).login()
    _consent(cw, a, "share:health_medical", granted=False)
    _referral(month, cw, a, w["mhpss"], "ref_a_revoked")
    cw.submit(f"/referrals/{ids['ref_a_revoked']}/sent",
              f"/referrals/{ids['ref_a_revoked']}/revoke", {"reason": "sent_in_error"})
    _status(cw, a, "follow_up")
    cw.submit(f"/cases/{a}", f"/cases/{a}/closure", {"reason": "needs_met",
                                                      "details": "Goals met."})
    _status(cw, c, "assessment")
    cw.logout()

    # Day 10. The supervisor approves the closure and erases the third case at the
    # survivor's request; the break-glass grant has expired by now.
    month.day(10, 11)
    sup = month.person("supervisor", 7).login()
    sup.submit(f"/cases/{a}", f"/cases/{a}/closure/decision", button="approve")
    sup.submit(f"/cases/{c}/erase", f"/cases/{c}/erase", {
        "confirm_number": month.numbers["case_c"], "reason": "survivor_request"})
    sup.get(f"/cases/{d}", expect=(404,))
    sup.get(f"/cases/{w['case_far']}", expect=(404,))
    sup.logout()

    # Day 12. A new incident: the caseworker reopens the closed case and records it.
    month.day(12, 9, 45)
    cw = month.person("caseworker", 2).login()
    cw.submit(f"/cases/{a}", f"/cases/{a}/reopen", {"reason": "new_incident"})
    ids["incident_a2"] = _incident(month, cw, a, 2, penetration="no", psychological="yes")
    cw.submit(f"/cases/{a}", f"/cases/{a}/notes", {"body": "Reopened after a new incident."})
    cw.submit(f"/cases/{b}", f"/cases/{b}/closure", {"reason": "relocated"})
    cw.lock()

    # Day 14. More sessions; the programme manager reads the summaries in Arabic.
    month.day(14, 13)
    co = month.person("wgss_coordinator", 5).login()
    for days_ago, kind, topic in ((5, "awareness", "Where to find help"),
                                  (3, "recreation", "Drawing and music"),
                                  (0, "skills_training", "Sewing, week 1")):
        _wgss(month, co, "safe_space", days_ago, kind, topic, (1, 2, 3, 4), 3)
    _programme_logs(month, co)
    co.walk_away()
    pm = month.person("program_manager", 11).login()
    pm.submit("/", "/language", {"lang": "ar"})
    pm.get("/safe-spaces/")
    pm.get(f"/safe-spaces/{w['safe_space']}/summary")
    pm.get(f"/safe-spaces/{w['safe_space2']}/summary.csv")
    # ...and the organisation's figures: every space, this month and the year, as CSV too.
    pm.get("/safe-spaces/figures")
    pm.get(f"/safe-spaces/figures?period={month.today():%Y-%m}&site={w['tripoli']}")
    pm.get(f"/safe-spaces/figures.csv?period={month.today():%Y}&site=all")
    pm.logout()

    # Day 16. The auditor searches the trail, verifies it and exports a slice.
    month.day(16, 10)
    au = month.person("auditor", 10).login()
    au.get("/audit/events")
    au.get("/audit/events?actor=caseworker&outcome=allowed")
    au.get(f"/audit/events?object_id={month.numbers['case_a']}")
    au.get(f"/audit/objects/case/{a}")
    au.get(f"/audit/users/{world.users['caseworker']}")
    au.get("/audit/alerts")
    au.submit("/audit/verify", "/audit/verify", expect=(200,))
    au.post("/audit/export", {"object_type": "referral"}, expect=(200,))
    au.logout()

    # Day 18. Accounts: a display name changed, sessions ended, the temporary one deactivated.
    month.day(18, 9)
    admin = month.person("admin", 1).login()
    pm_id = world.users["program_manager"]
    admin.submit(f"/admin/users/{pm_id}", f"/admin/users/{pm_id}",
                 {"display_name": "Amal Programme Manager"})
    admin.submit(f"/admin/users/{world.users['wgss_coordinator']}",
                 f"/admin/users/{world.users['wgss_coordinator']}/end_sessions")
    admin.submit(f"/admin/users/{ids['temp_manager']}",
                 f"/admin/users/{ids['temp_manager']}/deactivate")
    admin.get("/safe-spaces/activity-types")
    admin.logout()

    # Day 20. The new coordinator logs the first session of the other safe space.
    month.day(20, 10)
    co2.login()
    _wgss(month, co2, "safe_space2", 0, "psychosocial_support", "First group", (0, 2, 2, 5), 9)
    co2.logout()

    # Day 22. The other site refers to MHPSS with consent; MHPSS accepts.
    month.day(22, 11)
    cwb = month.person("caseworker_b", 4).login()
    _consent(cwb, d, "share:mhpss", share_fields=["full_name"])
    _referral(month, cwb, d, w["mhpss"], "ref_d_mhpss", fields=["full_name"])
    cwb.logout()
    sp = month.person("service_provider", 3).login()
    sp.submit(f"/referrals/{ids['ref_d_mhpss']}", f"/referrals/{ids['ref_d_mhpss']}/accept")
    sp.walk_away()

    # Day 25. The supervisor sends the child's closure request back.
    month.day(25, 14)
    sup = month.person("supervisor", 7).login()
    sup.submit(f"/cases/{b}", f"/cases/{b}/closure/decision",
               {"reason": "Agree the safety plan with the trusted adult first."}, button="reject")
    sup.logout()

    # Day 28. Sessions of the month's last week; a final check by the auditor.
    month.day(28, 12)
    co = month.person("wgss_coordinator", 5).login()
    _wgss(month, co, "safe_space", 1, "literacy_numeracy", "Reading group", (0, 1, 2, 4), 2)
    co.get(f"/safe-spaces/{w['safe_space']}/sessions")
    co.logout()
    au = month.person("auditor", 10).login()
    au.get("/audit/events?outcome=denied")
    au.submit("/audit/verify", "/audit/verify", expect=(200,))
    au.lock()

    # Day 29. Transfers between organisations. The caseworker asks the demo organisation to
    # take the first case (the survivor consents to transfer), then cancels: she stays. The
    # demo organisation asks the test NGO to take one of its cases; the supervisor reads the
    # request (no identity shown) and accepts it at Tripoli for caseworker2.
    month.day(29, 10)
    cw = month.person("caseworker", 2).login()
    _consent(cw, a, "transfer")
    demo_org = month.scalar(select(User.organisation_id).where(User.username == "demo-supervisor"))
    cw.submit(f"/cases/{a}/transfer", f"/cases/{a}/transfer",
              {"organisation": str(demo_org), "urgency": "normal", "confirmed": "yes"})
    cw.submit(f"/cases/{a}/transfer", f"/cases/{a}/transfer/cancel")
    cw.logout()
    ids["transfer_in"] = _demo_transfer(month)
    sup = month.person("supervisor", 7).login()
    sup.get("/cases/transfers")
    resp = sup.submit(f"/cases/transfers/{ids['transfer_in']}",
                      f"/cases/transfers/{ids['transfer_in']}/accept",
                      {"site": w["tripoli"], "primary": world.users["caseworker2"]})
    ids["case_transferred_in"] = location_id(resp, "/cases/")
    ids["transfer_pending"] = _demo_transfer(month)  # another, left waiting for an answer
    sup.get(f"/cases/transfers/{ids['transfer_pending']}")
    sup.logout()

    # Day 29. Two field intakes the caseworker captured offline have synced. She finds them
    # from her home page, reviews the first (the search runs by itself) and opens a case from
    # it; the second waits for her.
    first = make_intake(month.app, world.users["caseworker"], intake_fields("penetration"),
                        urgent=True, window_ends_at=month.clock.now + timedelta(hours=60))
    ids["field_intake"] = make_intake(month.app, world.users["caseworker"])
    cw = month.person("caseworker", 2).login()
    cw.get("/")
    cw.get("/field/intakes")
    resp = cw.submit(f"/field/intakes/{first}", f"/field/intakes/{first}/open",
                     {"site": w["tripoli"]})
    ids["case_from_field"] = location_id(resp, "/cases/")
    cw.get(f"/field/intakes/{ids['field_intake']}")
    cw.logout()
    # A third, urgent, waits for the second caseworker, who is off sick: the supervisor sees it
    # in her team's list (from her home page) and hands it to the caseworker.
    waiting = make_intake(month.app, world.users["caseworker2"], intake_fields("penetration"),
                          urgent=True, window_ends_at=month.clock.now + timedelta(hours=50))
    sup = month.person("supervisor", 7).login()
    sup.get("/")
    sup.submit("/field/team", f"/field/intakes/{waiting}/handover",
               {"to": world.users["caseworker"]})
    sup.logout()

    # Day 30. The auditor adds a passkey under My account, then signs in with it after the
    # password instead of the code.
    month.day(30, 9)
    au = month.person("auditor", 10).login()
    soft = SoftAuthenticator()
    resp = au.submit("/auth/passkeys", "/auth/passkeys/new", {"label": "Office laptop"},
                     expect=(200,))
    shown = Page.of("/auth/passkeys/new", resp)
    au.submit(shown, "/auth/passkeys/add", {"answer": soft.register(options_on(shown.html))})
    au.logout()
    au.submit("/auth/login", "/auth/login", {"username": au.username, "password": au.password})
    mfa = au.get("/auth/mfa")
    au.submit(mfa, "/auth/mfa/passkey", {"answer": soft.sign(options_on(mfa.html))})
    au.get("/auth/passkeys")
    au.logout()
    month.day(30, 10)
    return month


def _demo_transfer(month: Month) -> str:
    """A case of the demo organisation, with consent to transfer, asked to go to the test NGO
    (through the services, as the demo organisation's own staff would through their pages)."""
    from app.auth.models import User
    from app.cases import consent, service
    from app.cases import transfer as transfers
    from app.db import db

    with month.app.app_context():
        worker = db.session.execute(select(User).where(
            User.username == "demo-caseworker")).scalar_one()
        case = service.open_case(worker, worker.sites[0], service.IdentityInput(
            full_name="Journey Transferred Survivor", sex="female", estimated_age=24))
        for kind in ("services", "transfer"):
            consent.record_consent(worker, case, kind=kind, granted=True, given_by="survivor",
                                   method="verbal")
        found = transfers.request(worker, case, organisation_id=uuid.UUID(
            month.world.ids["org"]), site_id=uuid.UUID(month.world.ids["tripoli"]),
            urgency="high", confirmed=True)
        return str(found.id)
