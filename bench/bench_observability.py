"""What the request log line and the metrics cost per request, in one process and in gunicorn's
multi-process mode (values written to files in ``PROMETHEUS_MULTIPROC_DIR``).

Times, best of --runs batches of --calls each: one request's histogram observation, one audit
append's observation, formatting one request line as JSON and as text, and a scrape of the
metrics. No database and no app: these are the costs ``app.observability`` adds on top of a
request (tens of milliseconds). Run: ``.venv/bin/python bench/bench_observability.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.observability.logs import JsonLineFormatter, TextFormatter  # noqa: E402
from app.observability.metrics import (  # noqa: E402
    AUDIT_APPEND_SECONDS,
    exposition,
    observe_request,
)

FIELDS = {"request_id": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "route": "cases.view",
          "rule": "/cases/<uuid:case_id>", "method": "GET", "status": 200, "duration_ms": 41.7,
          "user_id": "0b6c1d1e-6a8e-4b43-9d47-3f8f4bb1f0a2"}


def _best_us(fn: Callable[[], object], calls: int, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def _record() -> logging.LogRecord:
    record = logging.LogRecord("amana.request", logging.INFO, __file__, 1, "%s %s %s %.1fms",
                               ("GET", "cases.view", 200, 41.7), None)
    record.__dict__.update(FIELDS)
    return record


def measure(calls: int, runs: int) -> list[tuple[str, float]]:
    """The rows of the table for this process's mode."""
    record = _record()
    as_json, as_text = JsonLineFormatter(), TextFormatter()
    return [
        ("request histogram observe", _best_us(
            lambda: observe_request("cases.view", "GET", 200, 0.0417), calls, runs)),
        ("audit append observe", _best_us(lambda: AUDIT_APPEND_SECONDS.observe(0.0004),
                                          calls, runs)),
        ("request line as JSON", _best_us(lambda: as_json.format(record), calls, runs)),
        ("request line as text", _best_us(lambda: as_text.format(record), calls, runs)),
        ("scrape (whole exposition)", _best_us(exposition, max(calls // 100, 10), runs)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = measure(args.calls, args.runs)
    if args.child:
        for name, us in rows:
            print(f"{name}\t{us}")
        return
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": folder}
        out = subprocess.run([sys.executable, __file__, "--child", "--calls", str(args.calls),
                              "--runs", str(args.runs)], env=env, capture_output=True,
                             text=True, check=True).stdout
    multi = {line.split("\t")[0]: float(line.split("\t")[1])
             for line in out.splitlines() if "\t" in line}
    print(f"{'':28} {'one process':>12} {'multi-process':>14}   (microseconds per call, "
          f"best of {args.runs} x {args.calls})")
    for name, us in rows:
        print(f"{name:28} {us:12.1f} {multi[name]:14.1f}")


if __name__ == "__main__":
    main()
