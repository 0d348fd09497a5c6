"""What the benchmarks share: logging in as a person would, timing a call, and the median and
95th percentile of the times (bench_home, bench_statistics)."""

from __future__ import annotations

import math
import re
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import pyotp
from flask import Flask

from app import clock

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def login(app: Flask, username: str, password: str, secret: str) -> Any:
    """A test client logged in as ``username``: password, then the current TOTP code."""
    client = app.test_client()
    now = datetime.now(UTC)
    clock.freeze(now)
    try:
        for path, data in (("/auth/login", {"username": username, "password": password}),
                           ("/auth/mfa", {"code": pyotp.TOTP(secret).at(now)})):
            page = client.get(path)
            token = CSRF_RE.search(page.get_data(as_text=True))
            assert token, "no CSRF token"
            resp = client.post(path, data={**data, "csrf_token": token.group(1)})
            assert resp.status_code == 302, (path, resp.status_code)
    finally:
        clock.freeze(None)
    return client


def ms(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank), in milliseconds."""
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000)


def timed(fn: Any, runs: int, before: Any = None) -> list[float]:
    """Seconds each of ``runs`` calls of ``fn`` took (after one untimed call), ``before`` run
    untimed ahead of each."""
    fn()
    out = []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out
