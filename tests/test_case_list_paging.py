"""The case list pages by keyset: "Next" starts after the last case shown, "Previous" ends
before the first, in every sort, and together they walk the whole list once each way. An
anchor outside the user's list (another site, another filter, not a case) gives the first page.
"""

from __future__ import annotations

import html
import re
import uuid

import pytest

from app.auth.models import User
from app.cases import queries, service
from app.cases.models import Case
from app.db import db

NAV_RE = re.compile(r'<nav class="pagination"[^>]*>(.*?)</nav>', re.S)
LINK_RE = re.compile(r'<a href="([^"]+)">([^<]+)</a>')
ROW_RE = re.compile(r'<a href="/cases/[0-9a-f-]{36}">([A-Z]{3}-\d{4}-\d{5})</a>')


@pytest.fixture
def seven(app, world, monkeypatch):
    """Seven cases at Tripoli (the supervisor's site), pages of two."""
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    with app.app_context():
        worker = db.session.get(User, uuid.UUID(world.users["caseworker"]))
        site = db.session.get(Case, uuid.UUID(world.ids["case_own"])).site
        for k in range(5):
            service.open_case(worker, site, service.IdentityInput(
                full_name=f"Paging Test {k}", sex="female", nationality_group="national",
                displacement_status="idp", disability="no", estimated_age=30))


def page(c, url: str) -> tuple[list[str], dict[str, str]]:
    """The case numbers of a list page and its pager's links, by their text."""
    body = c.get(url).get_data(as_text=True)
    nav = NAV_RE.search(body)
    assert nav, "no pager"
    return ROW_RE.findall(body), {text: html.unescape(href)
                                  for href, text in LINK_RE.findall(nav.group(1))}


@pytest.mark.parametrize("sort", ["-opened", "opened", "-updated", "risk", "number"])
def test_next_and_previous_walk_the_whole_list_once(app, world, auth, seven, sort):
    c = auth.login("supervisor")
    url, forward = f"/cases/?sort={sort}", []
    for _ in range(5):  # four pages of two hold the seven cases (the world's two and five)
        rows, links = page(c, url)
        assert 0 < len(rows) <= 2
        forward.append(rows)
        if "Next" not in links:
            break
        assert f"sort={sort}" in links["Next"], "the pager dropped the sort"
        url = links["Next"]
    else:
        pytest.fail("'Next' never ends")
    shown = [n for rows in forward for n in rows]
    assert len(shown) == len(set(shown)) == 7
    with app.app_context():  # the same order as a list read in one go
        user = db.session.get(User, uuid.UUID(world.users["supervisor"]))
        monkey = queries.PAGE_SIZE
        queries.PAGE_SIZE = 50
        try:
            whole = [r.case_number for r in queries.case_page(user, sort=sort).rows]
        finally:
            queries.PAGE_SIZE = monkey
    assert shown == whole
    backward = [rows]
    for _ in range(5):
        if "Previous" not in links:
            break
        rows, links = page(c, links["Previous"])
        backward.append(rows)
    assert backward[::-1] == forward


def test_an_anchor_outside_the_list_gives_the_first_page(app, world, auth, seven):
    c = auth.login("supervisor")
    first, _links = page(c, "/cases/")
    far = world.ids["case_far"]  # at Benghazi: not in the supervisor's list
    for anchor in (f"after={far}", f"before={far}", "after=not-a-case",
                   f"after={uuid.uuid4()}", f"after={world.ids['case_own']}&status=closed"):
        rows, links = page(c, f"/cases/?{anchor}")
        if "status=closed" in anchor:
            assert rows == [] and links == {}
        else:
            assert rows == first and "Previous" not in links, anchor
