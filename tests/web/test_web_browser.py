"""The console in a real browser (Playwright driving Debian's Chromium):
login -> queue -> case -> reveal media -> decision -> CyberTipline export, with screenshots."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from web_support import PASSWORDS, Harness, bank_benign_image

from safeguard.reports import cybertipline

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "web"
ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed: run scripts/system-deps.sh")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


class _Media(BaseHTTPRequestHandler):
    """Serves the benign stand-in photo, as a platform's own media store would."""

    image: bytes = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.image)))
        self.end_headers()
        self.wfile.write(self.image)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def served(console: Harness) -> Iterator[tuple[str, Harness]]:
    """The console's app under uvicorn on a free loopback port, plus a media server."""
    import uvicorn
    from case_support import BENIGN_IMAGE

    from safeguard.web.settings import ConsoleSettings

    _Media.image = BENIGN_IMAGE.read_bytes()
    media = ThreadingHTTPServer(("127.0.0.1", 0), _Media)
    threading.Thread(target=media.serve_forever, daemon=True).start()
    app = console.client.app
    app.state.console_settings = ConsoleSettings(media_url=f"http://127.0.0.1:{media.server_port}/{{sha256}}")
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", console
    server.should_exit = True
    thread.join(timeout=10)
    media.shutdown()


def test_review_flow_in_chromium(served: tuple[str, Harness]) -> None:
    from playwright.sync_api import sync_playwright

    base, console = served
    executable = _chromium()
    grooming = console.grooming_case()
    sha = bank_benign_image(console.url)
    media = console.media("adult-2", ["child-2"], sha, mid="img-1")["case_id"]
    OUTPUT.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
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
