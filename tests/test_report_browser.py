"""The demo's HTML report renders in headless Chromium: every plot loads, nothing is fetched, no error.

Uses Debian's ``chromium`` and ``chromium-driver`` through selenium (the ``test`` extra). Without
them the tests skip, unless ``B2BCLIENT_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs
them) makes them fail. With ``B2BCLIENT_SCREENSHOT=path.png`` the rendering of the report is also
saved there: that is how ``docs/_static/report.png``, the README's screenshot, is made
(``make screenshot``).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from b2bclient.cli import main

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _need(what: str) -> None:
    if os.environ.get("B2BCLIENT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"B2BCLIENT_REQUIRE_BROWSER=1 but {what}")
    pytest.skip(what)


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _need("selenium is not installed (pip install b2bclient[test])")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        _need("Chromium is not installed (apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="b2bclient-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1800"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def inspect_page(driver, path: Path) -> dict:
    """Load `path`; return its images, console errors and the resources it fetched."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(path.resolve().as_uri())
    driver.execute_script("return document.readyState")
    images = driver.execute_script(
        "return Array.from(document.images).map("
        "  i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}))"
    )
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return {"images": images, "errors": errors, "fetched": fetched}


def test_the_check_catches_a_broken_image_and_a_console_error(browser, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img alt="bad" src="data:image/png;base64,AAAA">'
        '<script>console.error("boom")</script></body></html>'
    )
    seen = inspect_page(browser, page)
    assert seen["images"][0]["width"] == 0
    assert any("boom" in e for e in seen["errors"])


@pytest.mark.slow
def test_demo_report_renders_in_chromium(browser, tmp_path):
    out = tmp_path / "demo"
    code = main(
        ["demo", "-n", "300", "--seed", "0", "-o", str(out), "--no-progress"], stream=io.StringIO()
    )
    assert code == 0
    seen = inspect_page(browser, out / "report.html")
    assert len(seen["images"]) >= 3, seen["images"]
    broken = [i["alt"] for i in seen["images"] if not (i["complete"] and i["width"] > 0)]
    assert broken == []
    assert seen["errors"] == []
    assert seen["fetched"] == []  # self-contained: nothing loaded over the network or from disk
    titles = browser.execute_script(
        "return Array.from(document.querySelectorAll('section h2')).map(h => h.textContent)"
    )
    assert any(t.startswith("Churn as survival") for t in titles)
    assert any(t.startswith("Buy-till-you-die") for t in titles)
    # The README's screenshot: the churn section, with its table of hazard ratios and its plot.
    browser.set_window_size(1200, 1500)
    # Found by its title: the sections before it (segments, ...) change in number.
    found = browser.execute_script(
        "const s = Array.from(document.querySelectorAll('section')).find("
        "  e => e.querySelector('h2').textContent.startsWith('Churn as survival'));"
        "s.scrollIntoView(); return s.querySelectorAll('img').length"
    )
    assert found == 1
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    target = os.environ.get("B2BCLIENT_SCREENSHOT")
    if target:
        shutil.copyfile(shot, target)
