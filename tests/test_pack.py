"""The real report pack, built once from the sample company with hostile text injected.

Checks what an executive's browser sees: escaped untrusted text, no secrets, no external
requests, no console errors, every image loaded, every index link resolving.
Needs Chromium (Debian's ``chromium``, installed by .ci/run); skipped elsewhere unless CI is set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kpilib import build_report
from kpilib.paths import SAMPLE_DATA_DIR
from kpilib.report.sitemap import NOTEBOOKS

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECRET_URL = "postgresql+psycopg://kpi_user:s3cr3t-pass@db.internal:5432/kpi"

pytestmark = pytest.mark.slow  # every test reads one whole pack, built for the module


@pytest.fixture(scope="module")
def hostile_pack(tmp_path_factory) -> Path:
    """Sample data with script tags in names, plans and comments; the pack built from it."""
    data = tmp_path_factory.mktemp("hostile-data")
    for f in SAMPLE_DATA_DIR.glob("*.csv"):
        shutil.copy(f, data / f.name)
    customers = pd.read_csv(data / "customers.csv", dtype=str, keep_default_na=False)
    customers.loc[customers.index[::2], "name"] = SCRIPT  # every account: whichever a page shows
    customers.loc[customers.index[1::2], "name"] = IMG
    customers.to_csv(data / "customers.csv", index=False)
    subs = pd.read_csv(data / "subscriptions.csv", dtype=str, keep_default_na=False)
    subs.loc[subs["plan"] == subs["plan"].iloc[0], "plan"] = SCRIPT
    subs.to_csv(data / "subscriptions.csv", index=False)
    survey = pd.read_csv(data / "survey_responses.csv", dtype=str, keep_default_na=False)
    survey.loc[survey.index[::7], "comment"] = f"{SCRIPT} and {IMG}"
    survey.to_csv(data / "survey_responses.csv", index=False)
    os.environ["KPI_DATABASE_URL"] = SECRET_URL  # present in the environment, must never leak
    try:
        return build_report("2025-12", data=str(data), out=tmp_path_factory.mktemp("reports"),
                            progress=False)
    finally:
        os.environ.pop("KPI_DATABASE_URL", None)


def html_pages(pack: Path) -> list[Path]:
    return sorted(pack.glob("*.html"))


def test_pack_has_every_report(hostile_pack):
    names = {p.stem for p in html_pages(hostile_pack)}
    assert names == set(NOTEBOOKS) | {"index", "glossary"}
    assert {p.stem for p in hostile_pack.glob("*.ipynb")} == set(NOTEBOOKS)


def test_untrusted_text_is_escaped_everywhere(hostile_pack):
    shown = 0
    for page in html_pages(hostile_pack):
        text = page.read_text(encoding="utf-8")
        assert SCRIPT not in text, f"live script tag in {page.name}"
        assert IMG not in text, f"live img tag in {page.name}"
        assert "onerror=alert" not in text.replace("onerror=alert(1)&gt;", ""), page.name
        shown += text.count("&lt;script&gt;alert(1)&lt;/script&gt;")
    assert shown > 0, "the hostile text is shown nowhere, so escaping was not exercised"


def test_no_secret_in_any_file(hostile_pack):
    pattern = re.compile(r"[a-z+]+://[^/\s:@]+:[^/\s@]+@")
    for f in hostile_pack.rglob("*"):
        if f.is_file():
            text = f.read_text(encoding="utf-8", errors="replace")
            assert "s3cr3t-pass" not in text, f.name
            assert not pattern.search(text), f"URL with a password in {f.name}"


def test_html_has_no_code(hostile_pack):
    for page in html_pages(hostile_pack):
        text = re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8"))
        assert "import kpilib" not in text and "kpi.load_dataset" not in text, page.name


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run must install Debian's chromium")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def test_pages_in_a_real_browser(hostile_pack, browser):
    for page_file in html_pages(hostile_pack):
        url = page_file.resolve().as_uri()
        page = browser.new_page()
        errors: list[str] = []
        dialogs: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.on("dialog", lambda d, dialogs=dialogs: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r, requests=requests: requests.append(r.url))
        page.goto(url, wait_until="load")
        assert errors == [], f"console errors in {page_file.name}: {errors}"
        assert dialogs == [], f"script ran in {page_file.name}"
        outside = [r for r in requests if r != url and not r.startswith("data:")]
        assert outside == [], f"{page_file.name} requested {outside}"
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        assert all(done and width > 0 for done, width in images), f"broken image in {page_file.name}"
        if page_file.stem not in ("index", "glossary"):
            assert images, f"{page_file.name} shows no chart"
        if os.environ.get("KPI_SCREENSHOTS"):
            page.screenshot(path=str(Path(os.environ["KPI_SCREENSHOTS"]) / f"{page_file.stem}.png"),
                            full_page=True)
        page.close()


def test_index_links_resolve(hostile_pack, browser):
    page = browser.new_page()
    page.goto((hostile_pack / "index.html").resolve().as_uri())
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    page.close()
    assert {f"{n}.html" for n in NOTEBOOKS} <= set(hrefs)
    for href in hrefs:
        assert (hostile_pack / href).is_file(), f"index links to missing {href}"


def test_kpis_json_matches_csv(hostile_pack):
    figures = json.loads((hostile_pack / "kpis.json").read_text(encoding="utf-8"))
    table = pd.read_csv(hostile_pack / "kpis.csv")
    assert figures["period"] == "2025-12"
    assert [k["kpi"] for k in figures["kpis"]] == table["kpi"].tolist()


def test_every_table_downloads_as_csv_that_reimports_to_what_is_shown(hostile_pack, browser):
    import io
    import urllib.parse

    page = browser.new_page()
    page.goto((hostile_pack / "01_revenue.html").resolve().as_uri(), wait_until="load")
    tables = page.eval_on_selector_all(".jp-OutputArea-output table", "els => els.length")
    links = page.eval_on_selector_all("a.kpi-csv", "els => els.map(e => e.getAttribute('href'))")
    shown = page.eval_on_selector_all(
        ".jp-OutputArea-output table",
        "els => els.map(t => Array.from(t.querySelectorAll('tr')).map("
        "r => Array.from(r.querySelectorAll('th, td')).map(c => c.innerText.replace(/\\s+/g, ' ').trim())))")
    page.close()
    assert tables >= 3 and len(links) == tables  # trend, segment, plan, bookings tables
    for href, rows in zip(links, shown):
        text = urllib.parse.unquote(href.split(",", 1)[1])
        back = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False).to_numpy().tolist()
        width = max(len(r) for r in rows)
        assert back == [r + [""] * (width - len(r)) for r in rows]


def test_each_movement_opens_the_customers_whose_mrr_sums_to_it(hostile_pack, browser):
    from kpilib import KpiModel

    figures = json.loads((hostile_pack / "kpis.json").read_text(encoding="utf-8"))
    bridge = KpiModel.load(figures["data_source"], "2025-12").revenue  # the bridge, computed on its own path
    page = browser.new_page()
    page.goto((hostile_pack / "01_revenue.html").resolve().as_uri(), wait_until="load")
    drills = page.locator("details.kpi-drill")
    assert drills.count() == 5
    for i in range(5):
        drill = drills.nth(i)
        movement = drill.get_attribute("data-drill")
        assert not drill.locator("table").is_visible()
        drill.locator("summary").click()
        table = drill.locator("table.kpi-drill-list")
        assert table.is_visible(), f"{movement} did not open"
        changes = [float(v) for v in table.locator("td.kpi-change").evaluate_all(
            "cells => cells.map(c => c.getAttribute('data-value'))")]
        assert sum(changes) == pytest.approx(float(bridge[movement]), abs=0.005), movement
        assert float(drill.get_attribute("data-total")) == pytest.approx(float(bridge[movement]), abs=0.005)
        assert len(changes) == table.locator("tbody tr").count() > 0
    # search keeps the matching rows; a click on "Change" sorts by the exact amount, again reverses
    new = drills.nth(0)
    first_id = new.locator("tbody tr").first.locator("td").first.inner_text()
    new.locator("input.kpi-drill-search").fill(first_id)
    assert new.locator("tbody tr:visible").count() >= 1
    assert all(first_id in t for t in new.locator("tbody tr:visible").all_inner_texts())
    new.locator("input.kpi-drill-search").fill("")
    header = new.locator("th", has_text="Change")
    header.click()
    down = [float(v) for v in new.locator("td.kpi-change").evaluate_all(
        "cells => cells.map(c => c.getAttribute('data-value'))")]
    header.click()
    up = [float(v) for v in new.locator("td.kpi-change").evaluate_all(
        "cells => cells.map(c => c.getAttribute('data-value'))")]
    page.close()
    assert down == sorted(down, reverse=True) and up == sorted(up) and len(up) == len(down)
