"""The dashboard in a real headless Chromium: login, live scans, offline units, escaping, tracing.

Every read of the page runs as one script inside it (``page_texts``): the page's
JavaScript cannot redraw between finding an element and reading it, so no test
depends on a redraw racing a read.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from support.broker import Broker
from support.contacts import SCENARIO, SCENARIO_F1, SCENARIO_F2, SCENARIO_UNCERTAIN, insert_scans
from support.dashboard import Site, get, start_site
from support.ops import DeviceFactory, enroll
from support.waiting import wait_until

from ops.collector import Collector, CollectorConfig
from ops.db import open_database
from ops.store import Store

ENSURE_CHROMIUM = Path(__file__).parents[1] / "services" / "ensure-chromium.sh"
EVIL = "<script>document.title='owned'</script>'); DROP TABLE events; --"


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Debian's chromium and chromedriver; installed when missing, never silently skipped."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        subprocess.run(["bash", str(ENSURE_CHROMIUM)], check=False, timeout=900)
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        pytest.fail(f"the dashboard test needs chromium and chromedriver: run {ENSURE_CHROMIUM}")
    return browser, driver


@pytest.fixture
def site(
    broker: Broker,
    tmp_path: Path,
    users_file: tuple[Path, dict[str, str]],
) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path}/ops.db"
    collector = Collector(CollectorConfig(broker_url=broker.url), Store(open_database(url)))
    collector.start()
    assert collector.wait_subscribed(10)
    yield from start_site(url, *users_file)
    collector.stop()


@pytest.fixture
def browser(chromium: tuple[str, str], tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = chromium[0]
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromium[1]))
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(20)
    yield driver
    driver.quit()


def page_texts(driver: webdriver.Chrome, selector: str) -> list[str]:
    """The texts of every node matching ``selector``, read in one script turn of the page."""
    found: list[str] = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), n => n.textContent);",
        selector,
    )
    return found


def page_attribute(driver: webdriver.Chrome, selector: str, name: str) -> str | None:
    found: str | None = driver.execute_script(
        "const n = document.querySelector(arguments[0]); return n && n.getAttribute(arguments[1]);",
        selector,
        name,
    )
    return found


def log_in(driver: webdriver.Chrome, base: str, token: str) -> None:
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "login").click()
    # The login answers with a redirect to the live page, whose stream then opens.
    assert wait_until(lambda: page_texts(driver, "#live") == ["live"], 10)


def test_live_page_shows_a_new_scan_within_2_s_and_a_unit_going_offline(
    broker: Broker,
    site: Site,
    browser: webdriver.Chrome,
    make_device: DeviceFactory,
) -> None:
    device = make_device(broker.url)
    enroll(site.db_url, device)
    device.connect()
    log_in(browser, site.url, site.tokens["ops"])
    row = f'#fleet tr[data-key="{device.device_id}"]'
    assert wait_until(lambda: page_texts(browser, f"{row} td.state") == ["online"], 10)
    seq = device.scan(time.time())
    key = f'#recent tr[data-key="{device.device_id}:{seq}"]'
    # The promise for the live page: the scan shows within 2 s.
    assert wait_until(lambda: bool(page_texts(browser, key)), 2.0)
    counts = page_texts(browser, f"{row} td.accepted, {row} td.rejected")
    assert sorted(counts) == ["0", "1"]
    assert page_texts(browser, "#charts svg rect")
    device.disconnect()
    assert wait_until(lambda: page_texts(browser, f"{row} td.state") == ["offline"], 10)


def test_an_sql_and_html_looking_pass_id_is_only_text(
    broker: Broker,
    site: Site,
    browser: webdriver.Chrome,
    make_device: DeviceFactory,
) -> None:
    device = make_device(broker.url)
    enroll(site.db_url, device)
    device.connect()
    device.scan(time.time(), pass_id=EVIL)
    db = open_database(site.db_url)
    assert wait_until(lambda: db.query("SELECT COUNT(*) FROM events")[0][0] == 1)
    log_in(browser, site.url, site.tokens["tracer"])
    browser.get(f"{site.url}/trace/pass")
    browser.find_element(By.ID, "pass_id").send_keys(EVIL)
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    assert wait_until(lambda: page_texts(browser, "#count") == ["1"], 10)
    assert EVIL in page_texts(browser, "#trace td")
    assert browser.title != "owned"
    assert not page_texts(browser, "main script")
    assert db.query("SELECT COUNT(*) FROM events")[0][0] == 1  # the table is still there
    csv_url = page_attribute(browser, "#csv", "href")
    assert csv_url is not None
    status, body, _ = get(site.url + csv_url, site.tokens["tracer"])
    assert status == 200
    assert EVIL in body.decode()
    db.close()


def _fetch(driver: webdriver.Chrome, href: str) -> dict[str, Any]:
    """GET ``href`` from inside the page, with the browser's own login session."""
    found: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.text().then(t => done({status: r.status,"
        " type: r.headers.get('content-type'), text: t})))"
        ".catch(e => done({status: 0, text: String(e)}));",
        href,
    )
    return found


def _run_trace(driver: webdriver.Chrome, base: str) -> None:
    driver.get(f"{base}/trace/contacts")
    for name, value in (("case", "P-CASE"), ("from", "2026-11-26T07:30"),
                        ("to", "2026-11-26T18:00")):  # fmt: skip
        driver.find_element(By.ID, name).send_keys(value)
    driver.find_element(By.ID, "run").click()
    assert wait_until(
        lambda: page_attribute(driver, "#status", "data-state") in ("done", "refused"), 20
    )


def test_a_tracer_runs_a_trace_sees_the_graph_and_rows_and_exports_csv(
    site: Site, browser: webdriver.Chrome
) -> None:
    db = open_database(site.db_url)
    insert_scans(db, SCENARIO)
    db.close()
    log_in(browser, site.url, site.tokens["tracer"])
    _run_trace(browser, site.url)
    assert page_attribute(browser, "#status", "data-state") == "done"
    assert set(page_texts(browser, "#contacts tbody tr td:nth-child(2)")) == (
        SCENARIO_F1 | SCENARIO_F2
    )
    levels = page_texts(browser, "#contacts tbody tr td:nth-child(1)")
    assert sorted(levels) == sorted(["F1"] * len(SCENARIO_F1) + ["F2"] * len(SCENARIO_F2))
    uncertain = page_texts(browser, '#contacts tbody tr[data-pass="P-BEHIND"] td.bad')
    assert uncertain == ["uncertain"]
    # The graph: one node per case and contact, one edge per contact, drawn as SVG.
    nodes = page_texts(browser, "#contact-graph g.node text")
    assert set(nodes) == {"P-CASE"} | SCENARIO_F1 | SCENARIO_F2
    assert len(page_texts(browser, "#contact-graph line.edge")) == 7
    assert len(page_texts(browser, "#contact-graph line.edge.uncertain")) == len(SCENARIO_UNCERTAIN)
    href = page_attribute(browser, "#csv", "href")
    assert href is not None
    assert href.startswith("/api/trace/contacts.csv?")
    answer = _fetch(browser, href)
    assert answer["status"] == 200
    assert answer["type"].startswith("text/csv")
    lines = answer["text"].strip().splitlines()
    assert lines[0].startswith("level,pass_id,via")
    assert len(lines) == 1 + len(SCENARIO_F1) + len(SCENARIO_F2)
    assert not page_texts(browser, "main script")


def test_an_ops_user_is_refused_the_trace(site: Site, browser: webdriver.Chrome) -> None:
    log_in(browser, site.url, site.tokens["ops"])
    assert not page_texts(browser, "#nav-contacts")
    assert page_texts(browser, "#nav-audit") == ["Audit"]
    browser.get(f"{site.url}/trace/contacts")
    assert page_texts(browser, "h1") == ["Refused"]
    assert "tracer role" in page_texts(browser, "#refusal")[0]
    refused = _fetch(
        browser, "/api/trace/contacts?case=P-CASE&from=2026-11-26T07:30&to=2026-11-26T18:00"
    )
    assert refused["status"] == 403
    browser.get(f"{site.url}/audit")
    actions = page_texts(browser, "#audit tbody td:nth-child(4)")
    assert actions == ["refused", "refused"]
