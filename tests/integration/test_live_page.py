"""The live page in a real browser (issue 24): headless Chromium, from Debian's package, driven through
its ChromeDriver by Selenium, opens the consumer's page while transactions arrive and after the run;
the totals read from the page's DOM are committed prefix sums during the run and equal the producer's
ground truth after it; the search box finds an account. The page is saved as a screenshot in
TXPIPE_ARTIFACTS (default test-artifacts/). Chromium comes from tools/browser/setup-chromium.sh,
which .ci/run runs: without it this test fails, it never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from txpipe_tools import verify

from .conftest import free_port
from .test_live_totals import check_prefix_sums, start_consumer, wait_until

pytestmark = pytest.mark.integration

ARTIFACTS = Path(os.environ.get("TXPIPE_ARTIFACTS", "test-artifacts"))
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# About 20 seconds of transactions: the page is open before the first and watched while they arrive.
PAGE_TX, PAGE_ACCOUNTS, PAGE_RATE = 6000, 20, 300


@pytest.fixture
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    assert not missing, f"{missing} missing: run `bash tools/browser/setup-chromium.sh` (as root) first"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="txpipe-chromium-")
    # Headless, and none of the background traffic a closed network refuses.
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def page_totals(driver) -> dict[str, tuple[str, int]]:
    """Each row of the page's top table: account -> (total, transactions), as the browser shows them.

    Read in one script run: the page replaces its rows on every event, so row elements fetched one
    by one can go stale in between.
    """
    rows = driver.execute_script(
        "return Array.from(document.querySelectorAll('#rows tr[data-account]')).map(tr => ["
        "tr.dataset.account, tr.querySelector('td.total').textContent, tr.querySelector('td.transactions').textContent])"
    )
    return {account: (total, int(count)) for account, total, count in rows}


def test_the_page_shows_committed_totals_during_and_after_a_run(stack, topic, tmp_path, browser):
    port = free_port()
    truth_file = tmp_path / "truth.json"
    consumer = start_consumer(stack, topic, f"page-{topic}", tmp_path, port)
    producer = None
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until(lambda: None if _answers(port) else "not listening", 120, f"the consumer serving {url}")
        browser.get(url)
        producer = subprocess.Popen(
            [sys.executable, "-m", "txpipe.producer", "-b", stack.bootstrap_servers, "-s", stack.schema_registry_url]
            + ["-t", topic, "-n", str(PAGE_TX), "-a", str(PAGE_ACCOUNTS), "-r", str(PAGE_RATE), "--seed", "24"]
            + ["--ground-truth", str(truth_file), "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # During the run: the page is live and every total it shows is one the consumer committed.
        seen: list[tuple[int, str, int, dict]] = []

        def some_rows_live() -> str | None:
            connection = browser.find_element(By.ID, "connection").text
            rows = page_totals(browser)
            for account, (total, n) in rows.items():
                seen.append((port, account, 200, {"account": account, "total": total, "transactions": n}))
            return None if connection == "live" and rows else f"connection {connection!r}, {len(rows)} rows"

        wait_until(some_rows_live, 120, "the page showing live totals while the producer runs", poll=0.3)
        during = producer.poll() is None
        out, err = producer.communicate(timeout=300)
        assert producer.returncode == 0, err
        truth = verify.load_ground_truth(truth_file)
        assert during, "the producer ended before the page showed a total: nothing was seen during the run"
        check_prefix_sums(seen, truth)

        # After the run: the page, left open, reaches the ground truth by its event stream alone.
        want = {a: (t, truth["counts"][a]) for a, t in truth["totals"].items()}

        def page_equals_truth() -> str | None:
            got = page_totals(browser)
            diff = {a: (got.get(a), w) for a, w in want.items() if got.get(a) != w}
            return None if not diff else f"{len(diff)} accounts differ, e.g. {list(diff.items())[:3]}"

        wait_until(page_equals_truth, 120, "the page showing every account's ground-truth total", poll=0.5)
        assert int(browser.find_element(By.ID, "accounts").text.split()[0].replace(",", "")) == PAGE_ACCOUNTS

        # The search box answers for one account.
        account = sorted(want)[3]
        box = browser.find_element(By.ID, "query")
        box.clear()
        box.send_keys(account)
        box.submit()
        wait_until(
            lambda: (
                None
                if browser.find_element(By.ID, "result").text.startswith(f"{account}: {want[account][0]} ")
                else browser.find_element(By.ID, "result").text
            ),
            30,
            f"the search box finding {account}",
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "live-page.png"
        assert browser.save_screenshot(str(shot)), f"no screenshot written to {shot}"
        assert shot.stat().st_size > 10_000
        print(f"screenshot: {shot.resolve()}")
    finally:
        if producer is not None and producer.poll() is None:
            producer.kill()
            producer.wait()
        consumer.stop()


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=2):
            return True
    except OSError:
        return False
