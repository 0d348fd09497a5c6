"""Gunicorn with the database unreachable at start: the master exits non-zero with Amana's one
line (it used to restart failing workers forever while /healthz hung)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
DOWN = "postgresql://amana:s3cret-pw@127.0.0.1:1/amana"  # nothing listens on port 1
LINE = "amana: The database at 127.0.0.1:1 is not reachable"


@pytest.mark.parametrize(("how", "status"), [
    ("config", 2),        # gunicorn -c gunicorn.conf.py wsgi:app: the master's check
    ("default", 2),       # gunicorn wsgi:app from the project folder reads the same file
    ("no-config", None),  # elsewhere, no config file: the workers' refusal (status 3) stops
                          # the master (non-zero; gunicorn's own status depends on timing)
])
def test_gunicorn_exits_with_one_line_when_the_database_is_unreachable(tmp_path, how, status):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMANA_", "DATABASE_"))}
    env.update(AMANA_INSTANCE_PATH=str(tmp_path / "inst"), DATABASE_URL=DOWN,
               GUNICORN_CMD_ARGS="", XDG_RUNTIME_DIR=str(tmp_path))  # gunicorn's control socket
    args = {"config": ["-c", "gunicorn.conf.py"], "default": [],
            "no-config": ["--chdir", str(ROOT)]}[how]
    cwd = tmp_path if how == "no-config" else ROOT
    proc = subprocess.Popen([str(GUNICORN), *args, "-w", "2", "-b", "127.0.0.1:0", "wsgi:app"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if status is None:
        assert proc.returncode != 0, err[-2000:]
    else:
        assert proc.returncode == status, err[-2000:]
    ours = [ln for ln in err.splitlines() if ln.startswith("amana:")]
    assert ours and all(ln == ours[0] for ln in ours), err[-2000:]
    assert ours[0].startswith(LINE) and "s3cret-pw" not in err + out
    if how != "no-config":
        assert len(ours) == 1 and "Booting worker" not in err  # no worker was started
