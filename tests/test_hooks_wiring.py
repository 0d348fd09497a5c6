"""Hooks are wired: the app refuses to start when a required hook has nobody answering it, and
admin reaches cases only through the ``scope_narrowed`` hook (no import of cases)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Flask

from app.core import hooks
from app.core.hooks import check_subscribed, scope_narrowed

ROOT = Path(__file__).resolve().parent.parent


def test_an_app_has_every_required_hook_subscribed(app: Flask) -> None:
    assert scope_narrowed.required
    for hook in hooks.ALL:
        assert not hook.required or hook.subscribers, hook.name
    check_subscribed()


def test_cases_answer_a_narrowed_scope(app: Flask) -> None:
    from app.cases.assignment import unassign_outside_scope

    assert unassign_outside_scope in scope_narrowed.subscribers


def test_a_required_hook_without_subscriber_stops_the_app(
        app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deleting the subscriber (as if cases were not loaded) makes ``check_subscribed`` raise,
    and so ``create_app`` refuses to build the app."""
    from tests.helpers.apps import make_app

    monkeypatch.setattr(scope_narrowed, "_subscribers", [])
    with pytest.raises(RuntimeError, match="scope_narrowed"):
        check_subscribed()
    with pytest.raises(RuntimeError, match="scope_narrowed"):
        make_app(app.config["SQLALCHEMY_DATABASE_URI"], Path(app.instance_path))


def test_admin_does_not_import_cases() -> None:
    """Admin announces scope changes; it never imports the cases feature (not even lazily)."""
    for path in sorted((ROOT / "app" / "admin").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "app.cases" or n.startswith("app.cases.") for n in names), path.name
