"""Open the report in headless Chromium from file:// and check that everything rendered.

Asserts: every section is present; each available section's figures decoded to a
nonzero natural size; no console errors, exceptions or blocked loads; no request left
the machine (only file: and data: URLs). Saves a full-page screenshot under
out/screenshots/ (git-ignored).
"""

from __future__ import annotations

import struct

import pytest

from cfz_platform.report import SECTION_IDS, build_report
from tests.conftest import ROOT
from tests.report.chromium import HeadlessChromium, chromium_binary

pytestmark = pytest.mark.browser

if chromium_binary() is None:
    pytest.skip(
        "chromium is not installed (run `CFZ_NEED_BROWSER=1 scripts/ensure-system-deps.sh` as root)",
        allow_module_level=True,
    )

PAGE_STATE = """(() => {
  const sections = [...document.querySelectorAll('section.report-section')].map(s => ({
    id: s.id,
    status: s.dataset.status,
    height: s.getBoundingClientRect().height,
    images: [...s.querySelectorAll('img')].map(i => ({complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
                                                      shownW: i.getBoundingClientRect().width})),
    svgs: [...s.querySelectorAll('svg')].map(v => v.getBoundingClientRect().width),
    captions: [...s.querySelectorAll('.source, figcaption')].map(c => c.textContent),
    text: s.innerText,
  }));
  return {title: document.title, sections};
})()"""

FIGURES = {"swimmer": 1, "waterfall": 1, "spider": 1, "km": 2, "adverse-events": 1, "model": 2}


@pytest.fixture(scope="module")
def report_in_browser(report_marts, tmp_path_factory):
    index = build_report(tmp_path_factory.mktemp("report"))
    with HeadlessChromium() as browser:
        browser.open(index.resolve().as_uri())
        state = browser.evaluate(PAGE_STATE)
        shot = ROOT / "out" / "screenshots" / "report.png"
        size = browser.screenshot(shot)
        yield {
            "state": state,
            "errors": browser.errors(),
            "urls": browser.requested_urls(),
            "screenshot": shot,
            "size": size,
        }


def test_every_section_rendered_with_its_figures(report_in_browser):
    state = report_in_browser["state"]
    by_id = {s["id"]: s for s in state["sections"]}
    assert list(by_id) == SECTION_IDS
    for sid, section in by_id.items():
        assert section["height"] > 40, f"section {sid} has no visible body"
        assert section["captions"] and section["captions"][0].startswith("Source:"), sid
        assert section["status"] == "ok", f"{sid}: {section['text'][:200]}"
    for sid, n in FIGURES.items():
        images = by_id[sid]["images"]
        assert len(images) == n, f"{sid}: {len(images)} figures, expected {n}"
        for img in images:
            assert img["complete"] and img["w"] > 100 and img["h"] > 100 and img["shownW"] > 100, (
                sid,
                img,
            )
    consort = by_id["consort"]["text"]
    assert "Screened\n14" in consort and "Entered maintenance\n5" in consort
    assert "MTD: dose level 27" in by_id["dose-escalation"]["text"]


def test_no_console_errors_and_no_network(report_in_browser):
    assert report_in_browser["errors"] == []
    urls = report_in_browser["urls"]
    assert urls and all(u.startswith(("file:", "data:")) for u in urls), urls


def test_screenshot_saved(report_in_browser):
    shot = report_in_browser["screenshot"]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1000 and height > 3000, (width, height)
