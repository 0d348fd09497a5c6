"""The type checker means what the README says: mypy strict on app/, unused ignores reported,
and the few ``type: ignore`` comments left each name their error code and give a reason.

A new ignore is the last resort: first try a typed helper (``app.extensions.real_app``), a
generic loader (``app.directory.queries.Listed``) or the typed model base (``app.db.Model``).
"""

from __future__ import annotations

import io
import re
import tokenize
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
# Five today (app/__init__.py, audit/writer.py, auth/guard.py, cases/service.py, crypto/fields.py).
MAX_IGNORES = 8
ANY_IGNORE = re.compile(r"type:\s*ignore")
# "# type: ignore[code]  # reason", or several codes: "[code-a, code-b]".
WELL_FORMED = re.compile(r"^# type: ignore\[[a-z-]+(?:, ?[a-z-]+)*\]  # \S.{2,}$")


def _ignores() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT and ANY_IGNORE.search(tok.string):
                found.append((str(path.relative_to(ROOT)), tok.start[0], tok.string))
    return found


def test_every_ignore_names_its_code_and_a_reason() -> None:
    bad = [f"{path}:{line}: {comment}" for path, line, comment in _ignores()
           if not WELL_FORMED.match(comment)]
    assert not bad, ("write '# type: ignore[code]  # why', with the error code and a reason:\n"
                     + "\n".join(bad))


def test_ignores_stay_few() -> None:
    found = _ignores()
    assert len(found) <= MAX_IGNORES, (
        f"{len(found)} type: ignore comments in app/ (at most {MAX_IGNORES}); type the code "
        "instead:\n" + "\n".join(f"{p}:{n}" for p, n, _ in found))


def test_mypy_configuration_is_strict() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    assert config["warn_unused_ignores"] is True
    # Relaxations only per module, for untyped libraries, never for the whole of app/.
    for setting in ("ignore_missing_imports", "disallow_untyped_decorators",
                    "disallow_subclassing_any", "disallow_untyped_defs", "disallow_any_generics"):
        assert setting not in config, f"{setting} set globally in [tool.mypy]"
    for override in config.get("overrides", []):
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        assert "app" not in modules and "app.*" not in modules, "an override covers all of app/"


def test_the_check_sees_a_bad_ignore() -> None:
    assert not WELL_FORMED.match("# type: ignore")
    assert not WELL_FORMED.match("# type: ignore[attr-defined]")
    assert not WELL_FORMED.match("# type: ignore  # no code")
    assert WELL_FORMED.match("# type: ignore[attr-defined]  # werkzeug's proxy hides the app")
