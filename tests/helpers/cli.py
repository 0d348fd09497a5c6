"""The command line in tests: run ``flask --app app`` (or another module) in a subprocess on a
fresh instance folder and database, and read its one-line error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run(args: Sequence[str], tmp_path: Path, stdin: str = "", env: Mapping[str, str] | None = None,
        module: Sequence[str] = ("-m", "flask", "--app", "app")) -> subprocess.CompletedProcess[str]:
    """Run the app's command line with ``tmp_path``'s instance folder and SQLite database."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AMANA_", "DATABASE_URL"))}
    e.update({"AMANA_INSTANCE_PATH": str(tmp_path / "inst"),
              "DATABASE_URL": f"sqlite:///{tmp_path / 'amana.db'}"})
    e.update(env or {})
    return subprocess.run([sys.executable, *module, *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env=e, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The failed command's one error line (asserts it failed, with one line and no traceback)."""
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("INFO")]
    assert len(lines) == 1, proc.stderr
    return lines[0]
