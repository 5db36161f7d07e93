"""``report.html`` is one self-contained page: read as a file, and in a real headless Chromium.

The browser test drives Debian's ``chromium`` through ``chromium-driver`` with selenium (a dev
dependency); it skips when any of the three is absent. Chromium starts with an empty profile and every
background service off, and the page must not need the network at all.
"""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pytest
from fixtures.report_runs import make_run

from ferbench.report import build_report

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).is_file()), None)
CHROMEDRIVER = next((p for p in ("/usr/bin/chromedriver", shutil.which("chromedriver") or "")
                     if p and Path(p).is_file()), None)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("page")
    runs = root / "runs"
    for f in range(3):
        make_run(runs, "ckplus", "vgg19", "none", fold=f, accuracy=0.70 + 0.05 * f, probes=f == 0)
        make_run(runs, "ckplus", "vgg19", "cbam", fold=f, accuracy=0.80 - 0.04 * f, params=45_260_000)
    return build_report(runs, root / "report", formats="html")["html"]


def test_page_is_self_contained(page):
    html = page.read_text(encoding="utf-8")
    refs = re.findall(r"""\b(?:src|href)\s*=\s*['"]([^'"]*)['"]""", html)
    outside = [r for r in refs if not r.startswith(("data:", "#"))]
    assert refs and not outside, outside
    assert not re.search(r"<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*['\"]https?:", html)
    assert "@import" not in html and "url(http" not in html
    images = re.findall(r"src='data:image/png;base64,([^']+)'", html)
    assert len(images) >= 5
    for b64 in images:  # each figure is a whole PNG, not a link to one
        assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"
    # a table of contents that reaches every section
    nav = re.search(r"<nav.*?</nav>", html, flags=re.S).group(0)
    anchors = re.findall(r"<section id='([^']+)'", html)
    assert len(anchors) >= 6 and all(f"href='#{a}'" in nav for a in anchors)
    numbers = [int(n) for n in re.findall(r"<h2>(\d+)\. ", html)]
    assert numbers == list(range(1, len(numbers) + 1))
    # the resize figure sits in the same block as its table
    block = next(b for b in html.split("<div class='block'")[1:] if "test accuracy by the side resized to" in b)
    assert "<figure id='f-resize_" in block
    # every run's provenance is one click away
    assert html.count("<details>") == 6 and html.count("<dd>ferbench grid</dd>") == 6
    # the reported tables carry their document, for the filter
    docs = set(re.findall(r"data-group='([^']+)'", html))
    assert len(docs) == 5 and "<select id='doc-filter'>" in html


def _browser(profile: Path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install -e '.[dev]')")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium / chromium-driver not installed (apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def test_page_in_headless_chromium(page, tmp_path):
    driver = _browser(tmp_path / "profile")
    try:
        driver.get(page.as_uri())
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert not errors, errors
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
        assert len(images) >= 5 and all(done and width > 0 for done, width, _ in images), images

        def column(table_id: str, col: int) -> list[str]:
            return driver.execute_script(
                "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
                ".map(r => r.cells[arguments[1]].textContent)", table_id, col)

        def click(table_id: str, col: int) -> None:
            driver.execute_script("document.querySelectorAll('#' + arguments[0] + ' thead th')[arguments[1]]"
                                  ".click()", table_id, col)

        acc = lambda cells: [float(c.rstrip("%")) for c in cells]  # noqa: E731
        before = column("t-runs", 5)
        assert acc(before) != sorted(acc(before))  # the runs come by id, not by accuracy
        click("t-runs", 5)
        assert acc(column("t-runs", 5)) == sorted(acc(before))
        click("t-runs", 5)
        assert acc(column("t-runs", 5)) == sorted(acc(before), reverse=True)
        click("t-runs", 5)
        assert column("t-runs", 5) == before  # the third click restores the table's own order
        click("t-runs", 0)  # text sorts too
        ids = column("t-runs", 0)
        assert ids == sorted(ids)

        # the document filter shows one document's table and hides the others
        driver.execute_script("var s = document.getElementById('doc-filter'); s.selectedIndex = 1;"
                              "s.dispatchEvent(new Event('change'))")
        shown = driver.execute_script(
            "return Array.from(document.querySelectorAll('[data-group]')).filter(b => !b.hidden).length")
        assert shown == 1
        # provenance opens with one click
        driver.execute_script("document.querySelector('#t-runs details summary').click()")
        assert driver.execute_script("return document.querySelector('#t-runs details').open")
        assert not [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    finally:
        driver.quit()
