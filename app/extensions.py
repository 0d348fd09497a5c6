"""Flask extensions, created once and bound to the app in ``create_app``."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from werkzeug.local import LocalProxy

from app.db import db

migrate = Migrate(compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# No default limits: each sensitive route names its own.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def real_app() -> Flask:
    """The application behind ``current_app``, for work that needs the object itself (a thread,
    a check that takes the app); Flask types the proxy as the app, hiding its unwrapping method."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


__all__ = ["db", "migrate", "login_manager", "csrf", "babel", "limiter", "real_app"]
