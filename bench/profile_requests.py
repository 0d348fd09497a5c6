"""Where the time of a request goes: cProfile over the common pages, one table per database.

With N cases (default 50,000) seeded as ``bench_cases`` seeds them (the viewed cases filled
through the real services), a supervisor's case list, case view, search by name and added
note, and a safe-space coordinator's month of session logs, are each requested ``--runs``
times through the test client (login excluded) under ``cProfile``. For each request the table
gives the median wall time without the profiler, the SQL statements issued, and under the
profiler the share of the request spent in each part (inclusive times: a part counts what it
calls, so the columns overlap where a template reads the database or a commit appends audit):

- session: ``auth.sessions.load`` (the session row, its user, the idle/absolute checks);
- guard: ``auth.guard.check_request`` (session, role check and the commit of ``last_seen_at``);
- policy: ``auth.policy.can`` and ``cases.scopes.load_case`` (the scope query and its audit);
- SQL: time inside the database driver (cursor execute), measured by cursor events;
- unwrap: ``crypto.envelope._open``, ``prime`` and ``unwrap_many`` (data keys unwrapped under
  the KEK: read alone, read with the case by its loader, or a search's candidates together);
- decrypt: ``crypto.fields.SealedField.__get__`` (opening sealed values, unwrap included);
- audit: ``audit.writer.record`` (chain head locked, event MAC'd and appended);
- commit: ``Session.commit`` (flush, audit checkpoints, the database commit);
- template: ``flask.render_template`` (Jinja, forms, lazy reads from templates).

    .venv/bin/python bench/profile_requests.py [--cases 50000] [--runs 30] [--no-pg]
        [--no-sqlite] [--top 0] [--queries] [--trace "FROM users"]

``--top N`` prints the N most expensive functions (cumulative) per request; ``--queries``
prints each request's SQL statements, grouped (to spot one read repeated); ``--trace TEXT``
prints where in ``app/`` each statement containing TEXT was issued from (to find the reader).
Synthetic data only.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_cases as bc  # noqa: E402  (bench/bench_cases.py, beside this file)
import pgserver  # noqa: E402
import pyotp  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import event  # noqa: E402

from app import create_app  # noqa: E402
from app.auth import mfa, passwords  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.clock import utcnow  # noqa: E402
from app.db import db  # noqa: E402
from app.directory.models import SafeSpace, Site  # noqa: E402
from app.safe_space.demo import seed_sessions  # noqa: E402

# (column, file suffix, function name): the entry points whose cumulative time is a part.
PARTS = (
    ("session", "app/auth/sessions.py", "load"),
    ("guard", "app/auth/guard.py", "check_request"),
    ("policy", "app/auth/policy.py", "can"),
    ("policy", "app/cases/scopes.py", "load_case"),
    ("unwrap", "app/crypto/envelope.py", "_open"),
    ("unwrap", "app/crypto/envelope.py", "prime"),  # the case loader's, with the case
    ("unwrap", "app/crypto/envelope.py", "unwrap_many"),  # a search's candidates, batched
    ("decrypt", "app/crypto/fields.py", "__get__"),
    ("audit", "app/audit/writer.py", "record"),
    ("commit", "sqlalchemy/orm/session.py", "commit"),
    ("template", "flask/templating.py", "render_template"),
)
COLUMNS = ("session", "guard", "policy", "SQL", "unwrap", "decrypt", "audit", "commit",
           "template")
TOKEN_RE = re.compile(r'name="((?:[a-z_]+-)?(?:csrf_token|submission_token))" '
                      r'(?:type="hidden" )?value="([^"]*)"')


class SqlMeter:
    """Counts the statements and the time spent in the driver, by cursor events."""

    def __init__(self, trace: str = "") -> None:
        self.trace = trace
        self.origins: Counter[str] = Counter()
        self.count = 0
        self.seconds = 0.0
        self.statements: Counter[str] = Counter()
        self._t0 = 0.0

    def before(self, _c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        self.count += 1
        self.statements[" ".join(statement.split())[:160]] += 1
        if self.trace and self.trace in statement:
            self.origins[" < ".join(
                f"{f.filename.rsplit('/app/', 1)[-1]}:{f.lineno} {f.name}"
                for f in reversed(traceback.extract_stack()) if "/app/" in f.filename)] += 1
        self._t0 = time.perf_counter()

    def after(self, *_a: Any) -> None:
        self.seconds += time.perf_counter() - self._t0

    def reset(self) -> None:
        self.count, self.seconds, self.statements = 0, 0.0, Counter()
        self.origins = Counter()


@contextmanager
def metered(app: Flask, trace: str = "") -> Iterator[SqlMeter]:
    meter = SqlMeter(trace)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", meter.before)
    event.listen(engine, "after_cursor_execute", meter.after)
    try:
        yield meter
    finally:
        event.remove(engine, "before_cursor_execute", meter.before)
        event.remove(engine, "after_cursor_execute", meter.after)


def parts_of(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds of each part's entry points."""
    out: dict[str, float] = dict.fromkeys(COLUMNS, 0.0)
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        path = filename.replace("\\", "/")
        for column, suffix, func in PARTS:
            if name == func and path.endswith(suffix):
                out[column] += ct
    return out


def seed_safe_space(d: dict[str, Any]) -> dict[str, Any]:
    """A safe space at the first site and its coordinator, with the demo month of sessions."""
    site = db.session.get(Site, d["sites"][0][0])
    space = SafeSpace(organisation_id=d["org"], site_id=site.id, name="Bench WGSS",
                      opened_on=date(2024, 1, 1))
    db.session.add(space)
    db.session.flush()
    coordinator = User(username="bench-coordinator", display_name="Bench Coordinator",
                       organisation_id=d["org"], role="wgss_coordinator",
                       password_hash=passwords.hash_password(bc.PASSWORD),
                       password_changed_at=utcnow(), sites=[site], safe_spaces=[space])
    db.session.add(coordinator)
    db.session.flush()
    secret = pyotp.random_base32(32)
    mfa.store_secret(coordinator, secret)
    coordinator.mfa_enrolled_at = utcnow()
    db.session.commit()
    seed_sessions(space, coordinator)
    db.session.commit()
    return {"space": space.id, "secret": secret}


def tokens(html: str, prefix: str = "") -> dict[str, str]:
    """The CSRF and one-time tokens of the form whose fields carry ``prefix``."""
    return {k: v for k, v in TOKEN_RE.findall(html) if k.startswith(prefix)
            and (prefix or "-" not in k)}


def requests_of(app: Flask, d: dict[str, Any], ws: dict[str, Any], targets: list[Any],
                names: list[str]) -> list[tuple[str, Callable[[int], Any], Callable[[int], Any]]]:
    """(name, untimed preparation, the request) for each profiled request."""
    sup = bc.login(app, "bench-supervisor", d["secret"])
    coord = bc.login(app, "bench-coordinator", ws["secret"])
    search_token = tokens(sup.get("/cases/search").get_data(as_text=True))["csrf_token"]
    note_forms: dict[int, dict[str, str]] = {}

    def ok(resp: Any, code: int = 200) -> Any:
        assert resp.status_code == code, resp.status_code
        return resp

    def prepare_note(i: int) -> None:
        page = sup.get(f"/cases/{targets[i % len(targets)]}").get_data(as_text=True)
        found = re.search(r'<form[^>]*action="[^"]*/notes"[^>]*>(.*?)</form>', page, re.S)
        assert found, "no note form on the case page"
        note_forms[i] = tokens(found.group(1))

    month = utcnow().strftime("%Y-%m")
    return [
        ("case list, page 1", lambda i: None, lambda i: ok(sup.get("/cases/"))),
        ("case list, page 20", lambda i: None, lambda i: ok(sup.get("/cases/?page=20"))),
        ("case view", lambda i: None,
         lambda i: ok(sup.get(f"/cases/{targets[i % len(targets)]}"))),
        ("search by name", lambda i: None,
         lambda i: ok(sup.post("/cases/search", data={"name": names[i % len(names)],
                                                       "csrf_token": search_token}))),
        ("add note", prepare_note,
         lambda i: ok(sup.post(f"/cases/{targets[i % len(targets)]}/notes",
                               data={"body": bc.FILLER, **note_forms.pop(i)}), 302)),
        ("safe-space log, month", lambda i: None,
         lambda i: ok(coord.get(f"/safe-spaces/{ws['space']}/sessions?month={month}"))),
    ]


def run(uri: str, instance: Path, n: int, runs: int, label_: str, top: int,
        show_queries: bool, trace: str = "") -> None:
    app = create_app({"AMANA_ENV": "testing", "INSTANCE_PATH": str(instance),
                      "SQLALCHEMY_DATABASE_URI": uri, "RATELIMIT_STORAGE_URI": "memory://",
                      "CASE_SEARCH_LIMIT": "1000000 per minute", "SERVER_NAME": None})
    app.register_blueprint(bc.plain_bp)
    rnd = random.Random(50_000)
    with app.app_context():
        from flask_migrate import upgrade
        from sqlalchemy import select, text

        upgrade()
        bc.PLAIN.create_all(db.engine)
        d = bc.seed_directory()
        ws = seed_safe_space(d)
        targets = bc.seed_cases(n, d, rnd)
        bc.fill_targets(targets, rnd)
        t = bc.P["cases"]
        names = [r[0] for r in db.session.execute(
            select(t.c.full_name).order_by(t.c.id).limit(30).offset(n // 3))]
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    print(f"\n{label_}: {n:,} cases; {runs} runs per request; inclusive ms per request under "
          "cProfile (parts overlap); 'wall' is the median without the profiler")
    head = "".join(f"{c:>9}" for c in COLUMNS)
    print(f"  {'request':<24}{'wall':>8}{'SQL#':>6}{'profiled':>10}{head}")
    with metered(app, trace) as meter:
        for name, prepare, fn in requests_of(app, d, ws, targets, names):
            prepare(0), fn(0)
            walls, counts = [], []
            for i in range(1, runs + 1):
                prepare(i)
                meter.reset()
                t0 = time.perf_counter()
                fn(i)
                walls.append(time.perf_counter() - t0)
                counts.append(meter.count)
            statements, origins = meter.statements, meter.origins
            prof = cProfile.Profile()
            sql = 0.0
            for i in range(runs + 1, 2 * runs + 1):
                prepare(i)
                meter.reset()
                prof.enable()
                fn(i)
                prof.disable()
                sql += meter.seconds
            stats = pstats.Stats(prof)
            total = max(v[3] for k, v in stats.stats.items()  # type: ignore[attr-defined]
                        if k[2] == "open" and k[0].endswith("werkzeug/test.py"))
            parts = parts_of(stats)
            parts["SQL"] = sql
            row = "".join(f"{parts[c] / runs * 1000:>9.2f}" for c in COLUMNS)
            print(f"  {name:<24}{statistics.median(walls) * 1000:>8.2f}"
                  f"{statistics.median(counts):>6.0f}{total / runs * 1000:>10.2f}{row}")
            if show_queries:
                for statement, k in statements.most_common():
                    print(f"      {k}x {statement}")
            for origin, k in origins.most_common():
                print(f"      {k}x {trace!r} from {origin}")
            if top:
                stats.sort_stats("cumulative").print_stats(top)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--queries", action="store_true")
    parser.add_argument("--trace", default="", metavar="TEXT",
                        help="print where each statement containing TEXT was issued from")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        # An instance folder per database: the audit checkpoints kept there belong to one trail
        # (sharing one made the second database's trail look behind the first's checkpoint).
        if not args.no_sqlite:
            run(f"sqlite:///{tmp}/bench.db", Path(tmp) / "instance-sqlite", args.cases, args.runs, "SQLite",
                args.top, args.queries, args.trace)
        base, why = (None, "--no-pg") if args.no_pg else pgserver.reachable()
        if base is None:
            print(f"\nPostgreSQL: skipped ({why})")
        else:
            with pgserver.scratch(base) as url:
                run(url, Path(tmp) / "instance-pg", args.cases, args.runs, "PostgreSQL",
                    args.top, args.queries, args.trace)


if __name__ == "__main__":
    main()
