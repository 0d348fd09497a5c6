"""Attendance counts, property-based: a session is accepted exactly when every count is a whole
number from 0 to 500, at least one person attended (at most 500), new + returning equals the
total, and neither participants with disabilities nor requests for case management exceed it.
Checked on the rules themselves and end to end through the form (nothing saved when refused)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.safe_space import rules
from tests.helpers.safe_space import COORDINATOR, post_session, session_count

# Written out here rather than taken from the code under test.
BAND_CELLS = ("girls_10_14", "girls_15_19", "women_15_19", "women_20_24", "women_25_49",
              "women_50_plus")
OTHERS = ("new_participants", "returning_participants", "with_disabilities",
          "case_management_requests", "referrals_made")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def acceptable(values: dict[str, object]) -> bool:
    """The oracle: the documented rules, restated independently."""
    if not all(type(v) is int and 0 <= v <= 500 for v in values.values()):
        return False
    n: dict[str, int] = values  # type: ignore[assignment]
    total = sum(n[c] for c in BAND_CELLS)
    return (1 <= total <= 500 and n["new_participants"] + n["returning_participants"] == total
            and n["with_disabilities"] <= total and n["case_management_requests"] <= total)


@st.composite
def consistent(draw: st.DrawFn) -> dict[str, object]:
    """A record that follows every rule (so that mutations land near the boundaries)."""
    cells = {c: draw(st.integers(0, 83)) for c in BAND_CELLS}  # total at most 498
    total = sum(cells.values())
    if total == 0:
        cells["women_25_49"] = total = 1
    new = draw(st.integers(0, total))
    return {**cells, "new_participants": new, "returning_participants": total - new,
            "with_disabilities": draw(st.integers(0, total)),
            "case_management_requests": draw(st.integers(0, total)),
            "referrals_made": draw(st.integers(0, 500))}


odd_value = st.one_of(st.integers(-1000, 1000), st.none(), st.booleans(), st.floats(),
                      st.text(max_size=4), st.integers(501, 10**9))


@st.composite
def records(draw: st.DrawFn) -> dict[str, object]:
    """Mostly consistent records, some with one or two values nudged or replaced."""
    values = draw(consistent())
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(BAND_CELLS + OTHERS))
        current = values[name]
        near = st.integers(current - 2, current + 2) if type(current) is int else odd_value
        values[name] = draw(st.one_of(near, odd_value))
    return values


@settings(max_examples=600, deadline=None)
@given(records())
def test_rules_accept_exactly_the_consistent_records(values):
    errors = rules.count_errors(values)
    assert (errors == {}) == acceptable(values), (values, errors)
    for field in errors:
        assert field in BAND_CELLS + OTHERS + (rules.TOTAL_FIELD,)


@settings(max_examples=200, deadline=None)
@given(consistent(), st.sampled_from(OTHERS[:2]), st.integers(1, 5))
def test_new_and_returning_off_by_any_amount_is_refused(values, name, delta):
    values[name] = int(values[name]) + delta  # type: ignore[call-overload]
    assert "new_participants" in rules.count_errors(values)


def _typed(value: object) -> st.SearchStrategy[tuple[str, object]]:
    """What a person might type for a value, paired with the value it means (None: not a count)."""
    if type(value) is int and value >= 0:
        return st.sampled_from([(str(value), value), (str(value).translate(ARABIC_INDIC), value),
                                (f" {value} ", value)])
    if type(value) is int:
        return st.just((str(value), value))
    return st.sampled_from([("1.5", None), ("", None), ("abc", None), ("1e2", None),
                            ("3,0", None), ("0x10", None), ("½", None)])


@st.composite
def typed_records(draw: st.DrawFn) -> dict[str, tuple[str, object]]:
    values = draw(records())
    return {k: draw(_typed(v)) for k, v in values.items()}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(typed=typed_records())
def test_the_form_saves_exactly_the_consistent_records(app, auth, world, typed):
    client = getattr(test_the_form_saves_exactly_the_consistent_records, "_client", None)
    if client is None or client.application is not app:
        client = auth.login(COORDINATOR)
        test_the_form_saves_exactly_the_consistent_records._client = client  # type: ignore[attr-defined]
    before = session_count(app)
    resp = post_session(client, app, world, **{k: text for k, (text, _v) in typed.items()})
    meant = {k: v for k, (_text, v) in typed.items()}
    event("saved" if acceptable(meant) else "refused")
    if acceptable(meant):
        assert resp.status_code == 302, re.findall(r'error-message[^>]*>([^<]+)<',
                                                   resp.get_data(as_text=True))
        assert session_count(app) == before + 1
    else:
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and re.search(r'class="error-message"', html)
        assert session_count(app) == before
