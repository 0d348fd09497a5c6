"""Throttling shares its counters through Redis when RATELIMIT_STORAGE_URI says so, so a
lockout holds across several app hosts."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers.apps import make_app, redis_up, shared_redis
from tests.helpers.forms import csrf_from
from tests.helpers.login import PASSWORD


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_lockout_is_shared_between_two_app_hosts(db_uri, instance_dir, world, frozen):
    redis = shared_redis()
    host_a = make_app(db_uri, instance_dir, **redis)
    from app.extensions import limiter

    with host_a.app_context():
        limiter.reset()
    username = "caseworker"  # the lockout key is a digest of the name
    client_a = host_a.test_client()
    for _ in range(host_a.config["LOGIN_ACCOUNT_MAX_FAILURES"]):
        page = client_a.get("/auth/login").get_data(as_text=True)
        client_a.post("/auth/login", data={"username": username, "password": f"wrong {uuid.uuid4()}",
                                           "csrf_token": csrf_from(page)})
    host_b = make_app(db_uri, instance_dir, **redis)
    client_b = host_b.test_client()
    page = client_b.get("/auth/login").get_data(as_text=True)
    r = client_b.post("/auth/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": csrf_from(page)})
    assert r.status_code == 200 and "did not work" in r.get_data(as_text=True)
    with host_b.app_context():
        limiter.reset()
