"""The producer's Prometheus endpoint on the real local stack (issue 24): while a run lasts, /metrics
serves its outcomes and librdkafka's statistics; its summary line carries librdkafka's figures."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.integration.conftest import free_port
from tests.integration.test_input_delivery import producer_cmd
from tests.integration.test_live_totals import metric_values

pytestmark = pytest.mark.integration


def scrape(url: str) -> dict[str, float]:
    """Each sample of a Prometheus text exposition, by its name and labels."""
    with urllib.request.urlopen(url, timeout=5) as r:
        return metric_values(r.read().decode())


def test_metrics_follow_the_run_and_the_summary_gives_librdkafkas_figures(stack, topic):
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    cmd = producer_cmd(stack, topic, "-n", "6000", "-r", "1000", "--seed", "11", "--metrics-port", str(port))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 60
        # Until librdkafka has reported at least once with some records acknowledged.
        while time.monotonic() < deadline and p.poll() is None:
            try:
                seen = scrape(url)
            except (urllib.error.URLError, ConnectionError):
                pass  # not listening yet, or the run just ended
            if (
                seen.get('txpipe_producer_transactions_total{outcome="delivered"}', 0) > 0
                and "librdkafka_messages_sent_total" in seen
            ):
                break
            time.sleep(0.2)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert seen.get('txpipe_producer_transactions_total{outcome="delivered"}', 0) > 0, f"no delivery seen at {url}: {seen}"
    assert (
        seen['txpipe_producer_transactions_total{outcome="queued"}']
        >= seen['txpipe_producer_transactions_total{outcome="delivered"}']
    )
    assert seen['txpipe_producer_transactions_total{outcome="failed"}'] == 0
    assert seen["librdkafka_messages_sent_total"] > 0
    assert any(k.startswith('librdkafka_broker_rtt_seconds{broker="') for k in seen), seen
    assert f"metrics at {url}" in err
    m = re.search(r"delivered=(\d+) .* requests=(\d+) retries=(\d+) rtt_p99=[\d.]+ms", out)
    assert m, out
    assert int(m[1]) == 6000 and int(m[2]) > 0 and int(m[3]) == 0
    # The endpoint ends with the run.
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        scrape(url)


def test_a_metrics_port_in_use_is_a_usage_error(stack, topic):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run(
            producer_cmd(stack, topic, "-n", "1", "--metrics-port", str(port)), capture_output=True, text=True, timeout=120
        )
    assert r.returncode == 2, r.stderr
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1" in r.stderr
