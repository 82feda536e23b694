"""The console in a real browser (Playwright driving Debian's Chromium):
login -> queue -> case -> reveal media -> decision -> CyberTipline export, with screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_support import (
    CHROMIUM_ARGS,
    PASSWORDS,
    Harness,
    bank_benign_image,
    chromium_executable,
    serve_console,
)

from safeguard.reports import cybertipline

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "web"


@pytest.fixture
def served(console: Harness) -> Iterator[tuple[str, Harness]]:
    """The console's app under uvicorn on a free loopback port, plus a media server."""
    with serve_console(console) as base:
        yield base, console


def test_review_flow_in_chromium(served: tuple[str, Harness]) -> None:
    from playwright.sync_api import sync_playwright

    base, console = served
    executable = chromium_executable()
    grooming = console.grooming_case()
    sha = bank_benign_image(console.url)
    media = console.media("adult-2", ["child-2"], sha, mid="img-1")["case_id"]
    OUTPUT.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(f"{base}/console")
            assert page.url.endswith("/console/login")
            page.fill("input[name=username]", "rev")
            page.fill("input[name=password]", PASSWORDS["rev"])
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/console")
            assert "Review queue" in page.inner_text("h1")
            links = page.locator("a.case-link")
            assert links.count() == 2
            assert [links.nth(i).inner_text() for i in range(2)] == [media[:12], grooming[:12]]

            page.click(f"a.case-link:text('{media[:12]}')")
            page.wait_for_url(f"{base}/console/cases/{media}")
            image = page.locator("figure.media-item img")
            image.wait_for()
            assert "blur" in image.evaluate("e => getComputedStyle(e).filter")
            assert "grayscale" in image.evaluate("e => getComputedStyle(e).filter")
            page.screenshot(path=str(OUTPUT / "console-media-concealed.png"), full_page=True)
            page.click("button.reveal")
            page.wait_for_selector("figure.media-item.revealed")
            assert page.locator("figure.media-item img").evaluate("e => getComputedStyle(e).filter") == "none"
            assert page.locator("figure.media-item img").evaluate("e => e.naturalWidth") > 0

            page.goto(f"{base}/console")
            page.click(f"a.case-link:text('{grooming[:12]}')")
            page.wait_for_url(f"{base}/console/cases/{grooming}")
            marks = page.locator("mark.excerpt.cat-meeting")
            assert marks.first.inner_text() == "meet up after school"
            assert page.locator("li.message.flagged").count() == 3
            assert "child-1" in page.inner_text("section.contacts")
            page.fill("form.decide input[name=note]", "arranging to meet a child")
            page.click("button.d-report_ncmec")
            page.wait_for_selector("form.confirm")
            assert page.input_value("form.confirm textarea[name=note]") == "arranging to meet a child"
            page.click("form.confirm button.d-report_ncmec")
            page.wait_for_selector("p.flash")
            assert page.inner_text("p.flash") == "Decision recorded."
            assert "report_ncmec" in page.inner_text("dd.status")
            page.screenshot(path=str(OUTPUT / "console-case.png"), full_page=True)

            with page.expect_download() as info:
                page.click("a.export:text('Export CyberTipline XML')")
            target = OUTPUT / f"cybertipline-{grooming}.xml"
            info.value.save_as(str(target))
        finally:
            browser.close()

    document = target.read_text()
    assert cybertipline.validate(document) == []
    assert "Online Enticement of Children for Sexual Acts" in document
    assert (OUTPUT / "console-case.png").stat().st_size > 10_000
