"""Arabic reads right in a real browser: on an Arabic page the age group "18–25" is drawn
with 18 to the left of 25 (as written), where an unisolated range would be drawn 25–18."""

from __future__ import annotations

import re
import sqlite3

from tests.helpers.browser import log_in, switch_to_arabic

# Where, on screen, two parts of the text of the first element matching ``selector`` that
# contains ``text`` are drawn: [left of the first part, left of the second part].
_MEASURE = """([selector, text, first, second]) => {
  const el = [...document.querySelectorAll(selector)].find(e => e.textContent.includes(text));
  if (!el) return null;
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode()) && !node.data.includes(text)) {}
  if (!node) return null;
  const start = node.data.indexOf(text);
  const box = (from, length) => {
    const r = document.createRange();
    r.setStart(node, from); r.setEnd(node, from + length);
    return r.getBoundingClientRect().left;
  };
  return [box(start + text.indexOf(first), first.length),
          box(start + text.lastIndexOf(second), second.length)];
}"""


def test_age_group_range_is_drawn_left_to_right_on_an_arabic_page(page, world, live_server,
                                                                   tmp_path):
    number = world.case_numbers["case_own"]
    with sqlite3.connect(tmp_path / "live.db") as db:  # the live server's copy
        db.execute("UPDATE cases SET age_group = '18_25' WHERE case_number = ?", (number,))
    log_in(page, "caseworker", world.secrets["caseworker"])
    switch_to_arabic(page)
    page.goto(f"/cases/{world.ids['case_own']}")
    assert page.get_attribute("html", "dir") == "rtl"
    left_18, left_25 = page.evaluate(_MEASURE, ["#identity dd", "18–25", "18", "25"])
    assert left_18 < left_25, "18–25 is drawn reversed on the Arabic page"
    # The case number in the heading is drawn as written too: its year left of its serial.
    year, serial = page.evaluate(_MEASURE, ["h1 bdi", number, "2026", number[-5:]])
    assert year < serial
    # The measurement can see a reversal: the same range without isolation, in the same
    # Arabic paragraph, is drawn 25–18.
    page.evaluate("""() => { const p = document.createElement('p'); p.id = 'control';
      p.textContent = 'الفئة العمرية 18–25'; document.querySelector('main').append(p); }""")
    left_18, left_25 = page.evaluate(_MEASURE, ["#control", "18–25", "18", "25"])
    assert left_18 > left_25
    assert re.search(r"\d", page.locator("#identity").inner_text())
    assert page.console_errors == []
