"""Case numbers stay unique when several caseworkers open cases at the same moment, and a
deactivated caseworker loses access to cases on the very next request."""

from __future__ import annotations

import re
import threading
import uuid

from sqlalchemy import select

from app.auth.models import User
from app.cases import service
from app.cases.models import Case
from app.db import db
from app.directory.models import Site
from tests.helpers.forms import csrf_from


def test_numbers_unique_under_concurrency(app, world):
    errors: list[BaseException] = []
    numbers: list[str] = []
    lock = threading.Lock()

    def worker(username: str, count: int) -> None:
        try:
            with app.app_context():
                user = db.session.get(User, uuid.UUID(world.users[username]))
                site = db.session.get(Site, uuid.UUID(world.ids["tripoli"]))
                for i in range(count):
                    case = service.open_case(user, site, service.IdentityInput(
                        full_name=f"Concurrent {username} {i}", estimated_age=25))
                    with lock:
                        numbers.append(case.case_number)
                db.session.remove()
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name, 8))
               for name in ("caseworker", "caseworker2", "supervisor")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(numbers) == 24 and len(set(numbers)) == 24
    with app.app_context():
        stored = db.session.execute(select(Case.case_number).where(
            Case.site_id == uuid.UUID(world.ids["tripoli"]))).scalars().all()
    assert len(stored) == len(set(stored)) == 24 + 2  # plus the world's two Tripoli cases
    assert all(re.fullmatch(r"TRI-2026-\d{5}", n) for n in stored)


def test_deactivated_caseworker_is_out_at_once(app, auth, world):
    c = auth.login("caseworker")
    assert c.get(f"/cases/{world.ids['case_own']}").status_code == 200
    admin = auth.login("admin")
    admin.post(f"/admin/users/{world.users['caseworker']}/deactivate",
               data={"csrf_token": csrf_from(admin.get('/').get_data(as_text=True))})
    r = c.get(f"/cases/{world.ids['case_own']}")
    assert r.status_code == 302 and "/auth/login" in r.location
