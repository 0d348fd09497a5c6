"""Every process withholds the same cells for the same counts.

Gunicorn runs several workers and each protects a year on its own (``app.reports.freshness``
remembers per process). Two different patterns for the same counts would let a reader who
gets both (two page loads) difference them, so the search must not depend on anything a
process chooses for itself, such as the order of a set of strings (``PYTHONHASHSEED``).
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

from app.reports.grid import Table, categories, months, places
from app.reports.suppression import forget, protect

ROOT = Path(__file__).resolve().parent.parent


def digest() -> str:
    """A fingerprint of the withheld cells of a mixed grid (small and large counts, two
    families, a two-dimensional table)."""
    rng = random.Random(2026)
    period, site = months(2026, through=9), places([f"s{i}" for i in range(5)])
    kinds = categories("kind", ["a", "b", "c", "d", "e"])
    band = categories("band", ["x", "y", "z"])
    service = categories("service", ["health", "legal", "shelter"])
    outcome = categories("outcome", ["accepted", "declined", "completed"])
    gk: dict[tuple[str, ...], int] = {}
    gb: dict[tuple[str, ...], int] = {}
    ref: dict[tuple[str, ...], int] = {}
    for m in period.leaves:
        for s in site.leaves:
            for _ in range(rng.choice([0, 1, 2, 4, 9, 20, 40])):
                c, b = rng.choice("aaabbcde"), rng.choice("xxyz")
                gk[(m, s, c)] = gk.get((m, s, c), 0) + 1
                gb[(m, s, b)] = gb.get((m, s, b), 0) + 1
            for _ in range(rng.randint(0, 8)):
                key = (m, s, rng.choice(service.leaves), rng.choice(outcome.leaves))
                ref[key] = ref.get(key, 0) + 1
    forget()
    p = protect(period, site, [Table("kind", "gbv", (kinds,), gk),
                               Table("band", "gbv", (band,), gb),
                               Table("ref", "referrals", (service, outcome), ref)], 5)
    assert p.withheld - p.primary, "the grid needs secondary suppression to test anything"
    return hashlib.sha256(repr(sorted(p.withheld)).encode()).hexdigest()


def test_the_pattern_does_not_depend_on_the_process() -> None:
    here = digest()
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c",
             "from tests.test_suppression_determinism import digest; print(digest())"],
            cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True,
            text=True, timeout=300, check=True)
        assert out.stdout.strip() == here, f"PYTHONHASHSEED={seed} withholds other cells"
