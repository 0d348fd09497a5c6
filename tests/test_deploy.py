"""The deployment files (``deploy/``, ``gunicorn.conf.py``) still match the code they start.

- every unit's ``ExecStart`` names a command the app has, with options it accepts (parsed by
  click or gunicorn, not run), and every periodic job has a service and a timer;
- ``gunicorn.conf.py`` loads with gunicorn's own loader, and every setting it names is one the
  installed gunicorn knows (an unknown name would be ignored in silence);
- the proxy's body limit is the app's ``MAX_CONTENT_LENGTH``, and the example environment names
  only settings something reads.
"""

from __future__ import annotations

import configparser
import re
import shlex
import types
from pathlib import Path

import click
import pytest
from flask import Flask
from gunicorn.app.base import Application
from gunicorn.config import Config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CONF = ROOT / "gunicorn.conf.py"
UNITS = sorted(DEPLOY.glob("*.service"))
JOB_COMMANDS = {  # the periodic jobs of the issue: each has a timer
    "amana-checkpoint": ["audit", "checkpoint", "--if-due"],
    "amana-alerts": ["audit", "alerts"],
    "amana-purge": ["cases", "purge-expired", "--apply"],
    "amana-notify": ["notify", "send"],
}


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def _exec(path: Path) -> list[str]:
    return shlex.split(_unit(path)["Service"]["ExecStart"])


def test_every_job_has_a_service_and_a_timer():
    services = {p.stem for p in UNITS}
    timers = {p.stem for p in DEPLOY.glob("*.timer")}
    assert services == {"amana", *JOB_COMMANDS} and timers == set(JOB_COMMANDS)
    for name in timers:
        timer = _unit(DEPLOY / f"{name}.timer")
        assert timer["Install"]["WantedBy"] == "timers.target"
        assert "Unit" not in timer["Timer"]  # so it starts the service of the same name


@pytest.mark.parametrize("name", sorted(JOB_COMMANDS))
def test_each_job_unit_runs_an_existing_command(app: Flask, name: str):
    argv = _exec(DEPLOY / f"{name}.service")
    assert argv[0].endswith("/flask") and argv[1:3] == ["--app", "app"]
    args = argv[3:]
    assert args == JOB_COMMANDS[name]
    group = app.cli.commands[args[0]]
    assert isinstance(group, click.Group)
    command = group.commands[args[1]]
    with command.make_context(args[1], args[2:]) as ctx:  # refuses an unknown option
        assert ctx.command is command
    unit = _unit(DEPLOY / f"{name}.service")["Service"]
    assert unit["Type"] == "oneshot" and unit["User"] == "amana"


def test_the_web_unit_runs_gunicorn_with_this_config():
    unit = _unit(DEPLOY / "amana.service")["Service"]
    argv = _exec(DEPLOY / "amana.service")
    assert argv[0].endswith("/gunicorn") and argv[-1] == "wsgi:app"
    parsed = Config().parser().parse_args(argv[1:])
    assert parsed.config == "gunicorn.conf.py" and (ROOT / unit["WorkingDirectory"].replace(
        "/srv/amana", ".") / parsed.config).resolve() == CONF
    assert unit["Type"] == "notify" and "HUP" in unit["ExecReload"]
    assert int(unit["TimeoutStopSec"]) > _load(CONF).graceful_timeout


@pytest.fixture(autouse=True)
def _environment_restored(monkeypatch):
    # gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR in the process' environment when loaded;
    # left behind, every app started later by this test process (or a server it spawns) would
    # write its metrics to a folder nobody made.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "unset after the test")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")


def _load(path: Path) -> Config:
    """The config as gunicorn builds it from the file (no app loaded, no argument parsed)."""
    probe = Application.__new__(Application)
    probe.cfg = Config()
    probe.load_config_from_file(str(path))
    return probe.cfg


def test_gunicorn_conf_loads_with_the_defaults(monkeypatch, tmp_path):
    for name in ("AMANA_WORKERS", "WEB_CONCURRENCY", "AMANA_PROXY_IPS", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AMANA_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    cfg = _load(CONF)
    assert cfg.workers == 3 and cfg.timeout == 60 and cfg.graceful_timeout == 30
    assert cfg.pidfile == str(tmp_path / "inst" / "gunicorn.pid")
    assert cfg.control_socket == str(tmp_path / "inst" / "gunicorn.ctl")
    assert cfg.control_socket_mode == 0o600
    assert (tmp_path / "inst").stat().st_mode & 0o777 == 0o700
    # the metrics folder exists before the start-up checks import the app (on_starting)
    assert (tmp_path / "inst" / "metrics").stat().st_mode & 0o777 == 0o700
    assert cfg.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert cfg.on_starting.__name__ == "on_starting"  # the start-up checks stay


def test_gunicorn_conf_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AMANA_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("AMANA_WORKERS", "5")
    monkeypatch.setenv("AMANA_PROXY_IPS", "10.0.0.5,10.0.1.0/24")
    cfg = _load(CONF)
    assert cfg.workers == 5 and cfg.forwarded_allow_ips == ["10.0.0.5", "10.0.1.0/24"]


def test_every_setting_in_gunicorn_conf_is_known_to_gunicorn(monkeypatch, tmp_path):
    monkeypatch.setenv("AMANA_INSTANCE_PATH", str(tmp_path))
    names = Application.__new__(Application).get_config_from_filename(str(CONF))
    ours = {k for k, v in names.items() if not k.startswith("_") and not k.isupper()
            and not isinstance(v, types.ModuleType) and k != "annotations"}
    assert ours - set(Config().settings) == set()
    assert {"workers", "timeout", "graceful_timeout", "pidfile", "control_socket",
            "forwarded_allow_ips", "on_starting"} <= ours


def test_the_proxy_limits_bodies_as_the_app_does(app: Flask):
    text = (DEPLOY / "nginx-amana.conf").read_text()
    size = re.search(r"^\s*client_max_body_size\s+(\d+)([km]?);", text, re.M)
    assert size is not None
    limit = int(size.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[size.group(2)]
    assert limit == app.config["MAX_CONTENT_LENGTH"]
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text  # replaced, one hop
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text


def test_the_example_environment_names_only_settings_that_are_read():
    sources = "".join(p.read_text() for p in (ROOT / "app").rglob("*.py")) + CONF.read_text()
    names = re.findall(r"^#?([A-Z][A-Z0-9_]+)=", (DEPLOY / "amana.env.example").read_text(),
                       re.M)
    assert names
    unknown = [n for n in names if f'"{n}"' not in sources]
    assert unknown == []
