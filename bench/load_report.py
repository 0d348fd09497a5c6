"""The load test's tables (bench/load.py): one per run, then the goals met or missed, the
bound the CPU per request sets, and a warning when the machine was busy with other work."""

from __future__ import annotations

import os
from typing import Any

GOAL_P95_MS = 500
GOAL_RATIO = 1.5


def report(workers: int, r: dict[str, Any], users: int) -> None:
    """The table of one run."""
    window = r["window"]
    total = sum(a["count"] for a in r["actions"].values())
    errors = sum(a["errors"] for a in r["actions"].values()) + r["exceptions"]
    print(f"\n{workers} gunicorn worker(s), {users} users, {window:.0f} s measured; "
          f"load average {r['load_before']:.1f} before, {r['load_after']:.1f} after, on "
          f"{os.cpu_count()} CPUs")
    print(f"  {'action':<30} {'requests':>9} {'req/s':>7} {'errors':>7} {'p50 ms':>8} "
          f"{'p95 ms':>8} {'p99 ms':>8}")
    for name, a in sorted(r["actions"].items()):
        print(f"  {name:<30} {a['count']:>9} {a['count'] / window:>7.1f} {a['errors']:>7} "
              f"{a['p50']:>8.0f} {a['p95']:>8.0f} {a['p99']:>8.0f}")
    agg = r["all"]
    print(f"  {'all':<30} {total:>9} {total / window:>7.1f} {errors:>7} {agg['p50']:>8.0f} "
          f"{agg['p95']:>8.0f} {agg['p99']:>8.0f}")
    if r["exceptions"]:
        print(f"  (errors include {r['exceptions']} exceptions in the simulated people's steps)")
    per = 1000 / max(total, 1)
    print(f"  CPU per request: gunicorn {r['cpu_app'] * per:.1f} ms, PostgreSQL "
          f"{r['cpu_db'] * per:.1f} ms (over the window: gunicorn {r['cpu_app'] / window:.2f} "
          f"cores, PostgreSQL {r['cpu_db'] / window:.2f}, Locust {r['cpu_locust'] / window:.2f})")
    rss = ", ".join(f"{m['rss'] / 1024:.0f}/{m['pss'] / 1024:.0f}" for m in r["memory"]["workers"])
    print(f"  memory MB (RSS/PSS): master {r['memory']['master']['rss'] / 1024:.0f}/"
          f"{r['memory']['master']['pss'] / 1024:.0f}; workers {rss}")
    if r["failures"]:
        print("  failures (action, what): " + "; ".join(f"{k} x{v}" for k, v in
                                                      sorted(r["failures"].items())[:10]))


def verdict(results: dict[int, dict[str, Any]]) -> None:
    """The goals: 0 errors, p95 under 500 ms, 3 workers at least 1.5x one."""
    print()
    for workers, r in results.items():
        errors = sum(a["errors"] for a in r["actions"].values()) + r["exceptions"]
        p95 = r["all"]["p95"]
        print(f"{workers} worker(s): {errors} errors ({'met' if errors == 0 else 'MISSED'}), "
              f"p95 {p95:.0f} ms ({'met' if p95 < GOAL_P95_MS else 'MISSED'}: goal "
              f"< {GOAL_P95_MS} ms)")
    counts = sorted(results)
    rps = {w: sum(a["count"] for a in r["actions"].values()) / r["window"]
           for w, r in results.items()}
    for w in counts[1:]:
        ratio = rps[w] / rps[counts[0]]
        goal = f"goal >= {GOAL_RATIO}x: {'met' if ratio >= GOAL_RATIO else 'MISSED'}" \
            if (counts[0], w) == (1, 3) else "no goal"
        print(f"throughput {w} workers / {counts[0]}: {rps[w]:.1f} / {rps[counts[0]]:.1f} "
              f"req/s = {ratio:.2f}x ({goal})")
    # What the CPU per request allows at most, whatever else the machine was doing: a (sync)
    # worker waits for PostgreSQL's part of its request, and all share the machine's CPUs.
    cpus = os.cpu_count() or 1
    for workers, r in results.items():
        total = max(sum(a["count"] for a in r["actions"].values()), 1)
        app, both = r["cpu_app"] / total, (r["cpu_app"] + r["cpu_db"]) / total
        if app and both:
            bound = min(workers, cpus) / both
            print(f"{workers} worker(s): at most {bound:.0f} req/s with the {cpus} CPUs to "
                  f"themselves ({app * 1000:.0f} ms of gunicorn and {(both - app) * 1000:.0f} ms "
                  f"of PostgreSQL CPU per request, which a worker waits for)")
    busy = max(max(r["load_before"], r["load_after"]) for r in results.values())
    used = max((r["cpu_app"] + r["cpu_db"] + r["cpu_locust"]) / r["window"]
               for r in results.values())
    # The load average after a run counts the run itself, and the load before a later run
    # still counts the earlier one (a one-minute average): other work is the load before the
    # first run and what each run's load leaves over beyond the cores it used.
    first = results[min(results)]
    others = max([first["load_before"]] + [
        r["load_after"] - (r["cpu_app"] + r["cpu_db"] + r["cpu_locust"]) / r["window"]
        for r in results.values()])
    if others > (os.cpu_count() or 1) / 2:
        print(f"\nThe machine was busy: load average up to {busy:.1f} on {os.cpu_count()} CPUs, "
              f"about {others:.1f} of it other work, while this test used at most {used:.2f} "
              f"cores. The latencies and throughputs "
              f"above measure that contention more than Amana (more workers win a bigger "
              f"share of a contended CPU); run it again on a quiet machine for figures to size "
              f"by. CPU time per request is less affected.")
