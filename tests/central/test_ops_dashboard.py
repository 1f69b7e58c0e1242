"""The dashboard in a real headless Chromium: login, live scans, offline units, escaping."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from support.broker import Broker
from support.ops import DeviceFactory, enroll, make_device  # noqa: F401
from support.waiting import wait_until

from ops.collector import Collector, CollectorConfig
from ops.dashboard.server import RunningDashboard, serve
from ops.db import open_database
from ops.store import Store

TOKEN = "correct-horse-battery"
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
def site(broker: Broker, tmp_path: Path) -> Iterator[tuple[str, RunningDashboard]]:
    url = f"sqlite:///{tmp_path}/ops.db"
    collector = Collector(CollectorConfig(broker_url=broker.url), Store(open_database(url)))
    collector.start()
    assert collector.wait_subscribed(10)
    dashboard = serve(url, "127.0.0.1:0", TOKEN, stale_after_s=30)
    yield url, dashboard
    dashboard.shutdown()
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
    yield driver
    driver.quit()


def log_in(driver: webdriver.Chrome, base: str) -> None:
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "token").send_keys(TOKEN)
    driver.find_element(By.ID, "login").click()
    assert wait_until(lambda: driver.find_element(By.ID, "live").text == "live", 10)


def cell_texts(driver: webdriver.Chrome, selector: str) -> list[str]:
    """The cells' texts now; the live page redraws its rows, so read them in one pass."""
    for _ in range(5):
        try:
            return [node.text for node in driver.find_elements(By.CSS_SELECTOR, selector)]
        except StaleElementReferenceException:
            continue  # the row was redrawn between finding and reading it: read again
    return []


def status_of(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_requests_without_login_are_refused(site: tuple[str, RunningDashboard]) -> None:
    base = f"http://127.0.0.1:{site[1].port}"
    for path in ("/", "/api/snapshot", "/events", "/trace/pass?pass_id=PX1", "/trace/pass.csv"):
        assert status_of(base + path) == 401, path
        assert status_of(base + path, {"Authorization": "Bearer wrong-token"}) == 401, path
    assert status_of(base + "/api/snapshot", {"Authorization": f"Bearer {TOKEN}"}) == 200
    assert status_of(base + "/", {"Cookie": "ops_session=forged"}) == 401
    assert site[1].server.refused >= 11


def test_live_page_shows_a_new_scan_within_2_s_and_a_unit_going_offline(
    broker: Broker,
    site: tuple[str, RunningDashboard],
    browser: webdriver.Chrome,
    make_device: DeviceFactory,  # noqa: F811
) -> None:
    url, dashboard = site
    device = make_device(broker.url)
    enroll(url, device)
    device.connect()
    base = f"http://127.0.0.1:{dashboard.port}"
    log_in(browser, base)
    row = f'#fleet tr[data-key="{device.device_id}"]'
    assert wait_until(lambda: cell_texts(browser, f"{row} td.state") == ["online"], 10)
    seq = device.scan(time.time())
    key = f'#recent tr[data-key="{device.device_id}:{seq}"]'
    # The promise for the live page: the scan shows within 2 s.
    assert wait_until(lambda: bool(browser.find_elements(By.CSS_SELECTOR, key)), 2.0)
    counts = cell_texts(browser, f"{row} td.accepted") + cell_texts(browser, f"{row} td.rejected")
    assert sorted(counts) == ["0", "1"]
    assert browser.find_elements(By.CSS_SELECTOR, "#charts svg rect")
    device.disconnect()
    assert wait_until(lambda: cell_texts(browser, f"{row} td.state") == ["offline"], 10)


def test_an_sql_and_html_looking_pass_id_is_only_text(
    broker: Broker,
    site: tuple[str, RunningDashboard],
    browser: webdriver.Chrome,
    make_device: DeviceFactory,  # noqa: F811
) -> None:
    url, dashboard = site
    device = make_device(broker.url)
    enroll(url, device)
    device.connect()
    device.scan(time.time(), pass_id=EVIL)
    db = open_database(url)
    assert wait_until(lambda: db.query("SELECT COUNT(*) FROM events")[0][0] == 1)
    base = f"http://127.0.0.1:{dashboard.port}"
    log_in(browser, base)
    browser.get(f"{base}/trace/pass")
    browser.find_element(By.ID, "pass_id").send_keys(EVIL)
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    assert wait_until(lambda: bool(browser.find_elements(By.ID, "count")), 10)
    assert browser.find_element(By.ID, "count").text == "1"
    assert EVIL in cell_texts(browser, "#trace td")
    assert browser.title != "owned"
    assert not browser.find_elements(By.CSS_SELECTOR, "main script")
    assert db.query("SELECT COUNT(*) FROM events")[0][0] == 1  # the table is still there
    csv_url = browser.find_element(By.ID, "csv").get_attribute("href")
    assert csv_url is not None
    request = urllib.request.Request(csv_url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert EVIL in answer.read().decode()
    db.close()
