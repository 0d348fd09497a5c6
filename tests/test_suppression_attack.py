"""The attacker test: no withheld count can be narrowed below k by anything published.

For hand-made tricky grids and for many random ones, every withheld cell's feasible interval,
solved by linear programming over everything the grid publishes, is at least k wide
(``tests/helpers/attacker.py``). Also: every count below k is withheld, and the certificates the
method keeps are sound.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.reports.grid import Table, categories, months, places
from app.reports.suppression import protect
from tests.helpers.apps import PG_URL
from tests.helpers.attacker import Attack

YEAR = 2026

# No database is involved: the PostgreSQL run of the suite would only repeat the same LPs.
pytestmark = pytest.mark.skipif(bool(PG_URL), reason="database-independent; runs on SQLite")


def check(period, site, tables, k):
    protection = protect(period, site, tables, k, certificates=True)
    attack = Attack(protection)
    assert attack.truth_is_feasible()
    small = {key for key, v in protection.values.items() if v < k}
    assert small - protection.empty <= protection.withheld, "a count below k is published"
    top = (protection.period.root, protection.site.root)
    for key in protection.empty:   # published zeros: only under a zero for the whole year
        assert protection.values[key] == 0
        assert protection.values[(key[0], *top, *key[3:])] == 0
    covered = set().union(*(m.changes for m in protection.moves))
    for key in protection.withheld - covered:   # every withheld cell has its certificate...
        family = key[0].removeprefix("family:") if key[0].startswith("family:") else \
            protection.tables[key[0]].family
        assert family in protection.whole_families, f"no move covers {key}"  # ...or all goes
    for move in protection.moves:
        assert move.width >= k
        assert set(move.changes) <= protection.withheld
        # the certificate's extent, recounted over every cell it changes (not its corners)
        values = protection.values
        assert move.down == min((values[c] for c, s in move.changes.items() if s > 0),
                                default=float("inf"))
        assert move.up == min((values[c] for c, s in move.changes.items() if s < 0),
                              default=float("inf"))
    narrow = attack.narrow()
    assert narrow == [], f"narrowed below {k}: {narrow[:3]}"
    return protection


def one_site(counts_by_month):
    return {(m, "s1", c): n for (m, c), n in counts_by_month.items()}


def test_a_single_non_zero_cell_in_a_row():
    period, site = months(YEAR, through=3), places(["s1", "s2"])
    kinds = categories("kind", ["rape", "assault", "denial"])
    counts = {}
    for m in period.leaves:
        for s in site.leaves:
            counts[(m, s, "rape")] = 12
            counts[(m, s, "assault")] = 9
            counts[(m, s, "denial")] = 7
    counts[(period.leaves[1], "s2", "assault")] = 0
    counts[(period.leaves[1], "s2", "denial")] = 0   # the row's only non-zero cell: rape
    p = check(period, site, [Table("kind", "gbv", (kinds,), counts)], 5)
    assert p.value("kind", period.leaves[1], "s2", "rape") is None


def test_a_site_with_one_incident_in_the_quarter():
    period, site = months(YEAR, through=6), places(["big", "tiny"])
    kinds = categories("kind", ["a", "b"])
    where = categories("where", ["home", "road", "market"])
    ka, kw = {}, {}
    rng = random.Random(4)
    for m in period.leaves:
        for s in ("big",):
            a, b = rng.randint(6, 20), rng.randint(6, 20)
            ka[(m, s, "a")], ka[(m, s, "b")] = a, b
            h = rng.randint(0, a + b)
            r = rng.randint(0, a + b - h)
            kw[(m, s, "home")], kw[(m, s, "road")], kw[(m, s, "market")] = h, r, a + b - h - r
    ka[(period.leaves[4], "tiny", "a")] = 1
    kw[(period.leaves[4], "tiny", "road")] = 1
    p = check(period, site, [Table("kind", "gbv", (kinds,), ka),
                             Table("where", "gbv", (where,), kw)], 5)
    # the tiny site's quarter and year totals are withheld too
    assert p.value("kind", f"{YEAR}-Q2", "tiny", "*") is None
    assert p.value("kind", f"{YEAR}", "tiny", "*") is None


def test_a_two_dimensional_table_with_small_margins():
    period, site = months(YEAR, through=2), places(["s1"])
    sex = categories("sex", ["female", "male"])
    age = categories("age", ["0_11", "12_17", "18_25"])
    counts = {}
    for m in period.leaves:
        counts[(m, "s1", "female", "0_11")] = 6
        counts[(m, "s1", "female", "12_17")] = 14
        counts[(m, "s1", "female", "18_25")] = 20
        counts[(m, "s1", "male", "0_11")] = 1
        counts[(m, "s1", "male", "12_17")] = 0
        counts[(m, "s1", "male", "18_25")] = 2   # the male margin is 3: below k
    p = check(period, site, [Table("sexage", "gbv", (sex, age), counts)], 5)
    assert p.value("sexage", period.leaves[0], "s1", "male", "*") is None


def test_a_family_with_almost_nothing_is_withheld_whole():
    period, site = months(YEAR, through=12), places(["s1", "s2"])
    kinds = categories("kind", ["a", "b"])
    counts = {(f"{YEAR}-03", "s1", "a"): 2, (f"{YEAR}-07", "s2", "b"): 1}
    p = check(period, site, [Table("kind", "gbv", (kinds,), counts)], 5)
    assert p.value("kind", f"{YEAR}", "*", "*") is None


def test_a_year_total_of_exactly_k_on_one_site():
    period, site = months(YEAR, through=4), places(["only"])
    kinds = categories("kind", ["a", "b", "c"])
    counts = {(f"{YEAR}-01", "only", "a"): 3, (f"{YEAR}-04", "only", "c"): 2}
    check(period, site, [Table("kind", "gbv", (kinds,), counts)], 5)


def test_two_families_and_a_large_grid():
    rng = random.Random(11)
    period, site = months(YEAR, through=8), places([f"s{i}" for i in range(3)])
    kinds = categories("kind", ["a", "b", "c", "d"])
    band = categories("band", ["x", "y", "z"])
    service = categories("service", ["health", "legal"])
    outcome = categories("outcome", ["accepted", "declined", "completed"])
    gk, gb, ref = {}, {}, {}
    for m in period.leaves:
        for s in site.leaves:
            n = rng.choice([0, 1, 3, 8, 15, 30])
            for _ in range(n):
                c, b = rng.choice("aabcd"), rng.choice("xxyz")
                gk[(m, s, c)] = gk.get((m, s, c), 0) + 1
                gb[(m, s, b)] = gb.get((m, s, b), 0) + 1
            for _ in range(rng.randint(0, 6)):
                key = (m, s, rng.choice(["health", "legal"]),
                       rng.choice(["accepted", "declined", "completed"]))
                ref[key] = ref.get(key, 0) + 1
    check(period, site, [Table("kind", "gbv", (kinds,), gk), Table("band", "gbv", (band,), gb),
                         Table("ref", "referrals", (service, outcome), ref)], 5)


def test_a_category_nobody_had_all_year_is_shown_as_zero():
    period, site = months(YEAR, through=6), places(["s1", "s2"])
    kinds = categories("kind", ["common", "other", "never"])
    rng = random.Random(8)
    counts = {}
    for m in period.leaves:
        for s in site.leaves:
            counts[(m, s, "common")] = rng.randint(8, 20)
            counts[(m, s, "other")] = rng.randint(0, 9)
    p = check(period, site, [Table("kind", "gbv", (kinds,), counts)], 5)
    assert p.value("kind", f"{YEAR}", "*", "never") == 0
    assert p.value("kind", period.leaves[2], "s2", "never") == 0
    assert p.value("kind", f"{YEAR}", "*", "common") is not None


def test_tables_of_a_family_must_agree():
    period, site = months(YEAR, through=1), places(["s1"])
    a = Table("a", "gbv", (categories("a", ["x", "y"]),), {(f"{YEAR}-01", "s1", "x"): 7})
    b = Table("b", "gbv", (categories("b", ["p", "q"]),), {(f"{YEAR}-01", "s1", "p"): 6})
    with pytest.raises(ValueError, match="differ"):
        protect(period, site, [a, b], 5)


@st.composite
def grids(draw):
    through = draw(st.integers(1, 4))
    n_sites = draw(st.integers(1, 3))
    period, site = months(YEAR, through=through), places([f"s{i}" for i in range(n_sites)])
    dims = [categories(f"d{i}", [f"c{j}" for j in range(draw(st.integers(2, 4)))])
            for i in range(draw(st.integers(1, 2)))]
    two_d = draw(st.booleans())
    sex = categories("sex", ["f", "m"])
    incidents = draw(st.lists(st.tuples(st.sampled_from(period.leaves),
                                        st.sampled_from(site.leaves),
                                        st.lists(st.integers(0, 3), min_size=4, max_size=4)),
                              max_size=45))
    tables = []
    for i, dim in enumerate(dims):
        counts: dict = {}
        for m, s, picks in incidents:
            key = (m, s, dim.leaves[picks[i] % len(dim.leaves)])
            counts[key] = counts.get(key, 0) + 1
        tables.append(Table(f"t{i}", "gbv", (dim,), counts))
    if two_d:
        counts = {}
        for m, s, picks in incidents:
            key = (m, s, sex.leaves[picks[3] % 2], dims[0].leaves[picks[0] % len(dims[0].leaves)])
            counts[key] = counts.get(key, 0) + 1
        tables.append(Table("cross", "gbv", (sex, dims[0]), counts))
    k = draw(st.integers(2, 5))
    return period, site, tables, k


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids())
def test_no_random_grid_gives_a_withheld_count_away(grid):
    check(*grid)


def test_the_same_grid_is_protected_once_and_a_changed_count_anew():
    period, site = months(YEAR, through=2), places(["s1"])
    kinds = categories("kind", ["a", "b"])
    counts = {(f"{YEAR}-01", "s1", "a"): 9, (f"{YEAR}-02", "s1", "b"): 7}
    first = protect(period, site, [Table("kind", "gbv", (kinds,), counts)], 5)
    again = protect(period, site, [Table("kind", "gbv", (kinds,), dict(counts))], 5)
    assert again is first
    changed = protect(period, site, [Table("kind", "gbv", (kinds,),
                                           {**counts, (f"{YEAR}-02", "s1", "a"): 1})], 5)
    assert changed is not first
    assert changed.values[("kind", f"{YEAR}", "s1", "a")] == 10
