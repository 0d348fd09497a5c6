"""Attach → refer with the attachment → the service downloads it, in the browser.

The caseworker attaches a phone photo of a medical certificate (a JPEG with its GPS position in
EXIF) to the case from the case page, records the survivor's consent to share attached files
with MHPSS, and makes a referral ticking that file. The service provider, in a second browser
context, opens the referral and downloads the file: a JPEG without the GPS position, under a
neutral name. The case page only links to the download. Accessibility is checked on each page,
in English then in Arabic; the console stays clean.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from tests.helpers.browser import Accessibility, log_in
from tests.helpers.files import has_gps, jpeg_with_gps

REFERRAL_SENT_RE = re.compile(r"/referrals/([0-9a-f-]{36})/sent$")
CERTIFICATE = "Medical certificate (JPEG)"


def test_attach_refer_with_the_file_and_the_service_downloads_it(page: Page, browser,
                                                                  live_server, world):
    a11y = Accessibility()
    case_number = world.case_numbers["case_own"]
    log_in(page, "caseworker", world.secrets["caseworker"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    page.locator("#case-list").get_by_role("link", name=case_number, exact=True).click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))

    # Attach the photo: nothing chosen first is refused beside the field, then it goes.
    section = page.locator("#attachments")
    section.get_by_role("button", name="Attach the file").click()
    expect(page.locator("#attachment-kind-error-1")).to_be_visible()
    expect(page.locator("#attachment-file-error-1")).to_be_visible()
    # (Not remembered for the Arabic pass: this page's URL answers POST only.)
    section = page.locator("#attachments")
    section.get_by_label("What is this file?").select_option(label="Medical certificate")
    section.get_by_label("File (PDF, JPEG or PNG)").set_input_files(
        files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}])
    section.get_by_role("button", name="Attach the file").click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}(#attachments)?$"))
    row = page.locator("#attachments tbody tr").filter(has_text=CERTIFICATE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Test caseworker")
    expect(page.locator("#attachments")).not_to_contain_text("IMG_2041")
    # Only a link to the download: no image of it on the page.
    expect(page.locator("#attachments img, #attachments iframe, #attachments object")) \
        .to_have_count(0)
    a11y.check(page)

    # Consent to share attached files (and the name) with MHPSS.
    consent = page.locator("#consent")
    details = consent.locator("details")
    if details.get_attribute("open") is None:
        consent.locator("summary", has_text="Record consent or withdrawal").click()
    consent.get_by_label("Consent to").select_option(
        label="Share with: Mental health and psychosocial support")
    consent.get_by_label("Given", exact=True).check()
    consent.get_by_label("Given by").select_option(label="Survivor")
    consent.get_by_label("How").select_option(label="Verbal")
    consent.get_by_label("Fields the survivor agrees to share").select_option(
        label=["Full name", "Attached files (chosen one by one)"])
    consent.get_by_role("button", name="Record consent", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Consent recorded.")).to_be_visible()

    # Refer to MHPSS, ticking the certificate.
    page.locator("#referrals").get_by_role("link", name="Make a referral").click()
    page.get_by_label("Service", exact=True).select_option(
        label="MHPSS (Test NGO) — Mental health and psychosocial support — consent given")
    page.get_by_role("button", name="Show what can be shared").click()
    page.get_by_label("Urgency", exact=True).select_option(label="Normal")
    files = page.get_by_role("group", name="Also share these attached files")
    expect(files.get_by_role("checkbox")).to_have_count(1)
    a11y.check(page)
    files.get_by_label(re.compile(r"^Medical certificate \(JPEG\)")).check()
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_url(REFERRAL_SENT_RE)
    expect(page.locator("#shared-files")).to_contain_text(CERTIFICATE)
    a11y.check(page)
    found = REFERRAL_SENT_RE.search(page.url)
    assert found is not None
    referral_id = found.group(1)

    # The service provider downloads it from the referral.
    other: BrowserContext = browser.new_context(base_url=live_server, locale="en-GB",
                                                accept_downloads=True)
    try:
        provider = other.new_page()
        provider.console_errors = []  # type: ignore[attr-defined]
        provider.on("pageerror", lambda e: provider.console_errors.append(str(e)))
        provider_a11y = Accessibility()
        log_in(provider, "service_provider", world.secrets["service_provider"])
        provider.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Referrals received").click()
        provider.locator(f'a[href$="/referrals/{referral_id}"]').click()
        provider.wait_for_url(re.compile(rf"/referrals/{referral_id}$"))
        shared = provider.locator("#shared-files")
        expect(shared).to_contain_text(CERTIFICATE)
        provider_a11y.check(provider)
        with provider.expect_download() as info:
            shared.get_by_role("link", name=CERTIFICATE).click()
        download = info.value
        assert re.fullmatch(r"attachment-[0-9a-f]{8}\.jpg", download.suggested_filename)
        data = Path(download.path()).read_bytes()
        assert data.startswith(b"\xff\xd8\xff") and not has_gps(data)
        assert b"CanaryPhoneMaker" not in data
        provider_a11y.in_arabic(provider)
        assert provider_a11y.problems == []
        assert provider.console_errors == []  # type: ignore[attr-defined]
    finally:
        other.close()

    a11y.in_arabic(page)
    assert a11y.problems == []
    assert page.console_errors == []  # type: ignore[attr-defined]
