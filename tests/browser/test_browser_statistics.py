"""A programme manager reads the month's GBVIMS tables and charts, in English and in Arabic.

Six consented incidents are recorded this month through the app's services (one survivor
refuses statistics and is counted nowhere); the manager opens Statistics from the menu, picks
this month and all sites, and finds every table with its chart, the caveat, the legend, and
every small count withheld as ×, never as a number; then the same page in Arabic, mirrored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from app.localtime import today
from tests.helpers.apps import make_app
from tests.helpers.browser import Accessibility, log_in
from tests.helpers.statistics import incident, survivor


def test_manager_reads_the_months_tables_and_charts_in_both_languages(
        page: Page, world, instance_dir, tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    seeding = make_app(f"sqlite:///{tmp_path / 'live.db'}", instance_dir)
    with seeding.app_context():
        now = today(ZoneInfo("Africa/Tripoli"))
        for core in ("physical_assault",) * 4 + ("rape", "psychological_abuse"):
            incident(world, survivor(world), core=core, occurred=now - timedelta(days=2),
                     reported=now)
        incident(world, survivor(world, reporting=False), core="rape",
                 occurred=now - timedelta(days=1), reported=now)
    month = f"{now:%Y-%m}"

    a11y = Accessibility()
    log_in(page, "program_manager", world.secrets["program_manager"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statistics").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Statistics")
    page.get_by_label("Period", exact=True).select_option(value=month)
    page.get_by_label("Site", exact=True).select_option(label="All sites")
    page.get_by_role("button", name="Show").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(month)
    expect(page.locator("#stats-caveat")).to_contain_text("not a measure of prevalence")
    expect(page.locator("#stats-legend")).to_contain_text("× withheld: fewer than 5")
    expect(page.get_by_role("heading", name="Type of GBV")).to_be_visible()
    core = page.locator("#stats-core_type")
    expect(core.locator('td[data-cell="rape"]')).to_have_text("×")      # one rape: withheld
    for cell in core.locator("td").all():   # never a small number (0: none all year anywhere)
        text = cell.inner_text().strip()
        assert text in ("×", "0") or int(text.replace(",", "")) >= 5, text
    charts = page.locator("svg[role=img]")
    assert charts.count() >= 10
    assert page.locator("svg rect.chart-withheld").count() >= 1
    a11y.check(page)

    a11y.in_arabic(page)
    assert page.locator("html").get_attribute("dir") == "rtl"
    expect(page.locator("#stats-core_type td[data-cell='rape']")).to_have_text("×")
    assert page.locator("svg[role=img]").count() == charts.count()
    assert a11y.problems == []
    assert page.console_errors == []
