"""The report in a real headless browser (Debian's chromium + chromium-driver, via Selenium): the
overview and an article page load from file:// with no console error; every claim of the article
shows its verdict marker, and its tooltip on hover and on keyboard focus. Screenshots are saved
under the test's warehouse and copied to <checkout>/warehouse/screenshots/report/."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from factledger import paths

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--window-size=1280,1000")

pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="needs Debian's chromium and chromium-driver (`make test` installs them)")


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="factledger-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshots(built) -> tuple[Path, Path]:
    here = built.warehouse / "screenshots"
    kept = paths.warehouse_dir() / "screenshots" / "report"
    here.mkdir(parents=True, exist_ok=True)
    kept.mkdir(parents=True, exist_ok=True)
    return here, kept


def save(driver, built, name: str) -> Path:
    here, kept = screenshots(built)
    path = here / name
    driver.save_screenshot(str(path))
    shutil.copy(path, kept / name)
    return path


def console_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def busiest_article(built) -> Path:
    """The article page with the most claims and the most different verdicts."""
    pages = list((built.report(2) / "articles").glob("*.html"))
    def score(path):
        html = path.read_text()
        return (len({v for v in ("exact", "rounded", "wrong_scope", "not_in_source", "contradicted") if f'data-verdict="{v}"' in html}),
                html.count('class="claim '))
    return max(pages, key=score)


def test_overview_loads_from_file_without_console_errors(browser, built):
    browser.get((built.report(2) / "index.html").as_uri())
    assert browser.title.startswith("Overview")
    assert browser.find_element("css selector", "svg.chart").is_displayed()
    assert console_errors(browser) == []
    assert save(browser, built, "overview.png").stat().st_size > 10_000


def test_every_claim_shows_its_verdict_and_tooltip(browser, built):
    from selenium.webdriver.common.action_chains import ActionChains

    page = busiest_article(built)
    browser.get(page.as_uri())
    assert console_errors(browser) == []
    claims = browser.find_elements("css selector", "#article-body .claim")
    assert claims and len(claims) == page.read_text().count('class="claim ')
    for claim in claims:
        marker = claim.find_element("css selector", ".marker")
        tip = claim.find_element("css selector", ".tip")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", claim)
        assert marker.is_displayed() and marker.text.strip()
        assert not tip.is_displayed()
        browser.execute_script("arguments[0].focus()", claim)  # keyboard users
        assert tip.is_displayed() and len(tip.text) > 20, claim.text
        browser.execute_script("arguments[0].blur()", claim)
        ActionChains(browser).move_to_element(claim).perform()  # mouse users
        assert tip.is_displayed() and tip.text.strip()
        ActionChains(browser).move_to_element(browser.find_element("css selector", "h1")).perform()
    # A screenshot with one tooltip open: the first claim whose verdict is not "exact", if any.
    shown = next((c for c in claims if c.get_attribute("data-verdict") not in ("exact", "not_in_source")), claims[0])
    browser.execute_script("window.scrollTo(0, 0)")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus()", shown)
    save(browser, built, "article-tooltip.png")
    browser.execute_script("window.scrollTo(0, 0); document.activeElement.blur()")
    save(browser, built, "article.png")
    assert console_errors(browser) == []
