"""Browser tests: Playwright drives Debian's Chromium (headless) against the app served on
loopback from a fresh copy of the test database. No browser is downloaded."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import clock
from tests.helpers.apps import make_app

CHROMIUM = os.environ.get("AMANA_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: install Debian's 'chromium' package."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def live_config() -> dict[str, object]:
    """Settings of the live server's app beyond the tests' (a module overrides this fixture,
    as the single sign-on test does with its provider)."""
    return {}


@pytest.fixture
def live_app(template, instance_dir, tmp_path, live_config) -> Flask:
    """The live server's app, on a copy of the test database (tmp_path / "live.db")."""
    import sqlalchemy as sa

    clock.freeze(None)
    uri, _world = template
    src = Path(sa.make_url(uri).database or "")
    dst = tmp_path / "live.db"
    shutil.copyfile(src, dst)
    return make_app(f"sqlite:///{dst}", instance_dir, **live_config)


@pytest.fixture
def live_server(live_app) -> Iterator[str]:
    """The app on 127.0.0.1 with a real (unfrozen) clock; yields its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="en-GB")
    pg = context.new_page()
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    yield pg
    context.close()
