"""What the consumer's HTTP service costs and gives (issue 24), side by side in one run:

    python -m bench.service --size 300000 --accounts 1000 --reps 3 --out bench-results/service

- the drain of the same backlog with the service off, and with it on while clients ask
  ``GET /accounts/{account}`` as fast as they can (records/s of both, and the requests served meanwhile);
- requests per second and latency of ``GET /accounts/{account}`` on one idle instance that holds
  every account (random accounts, keep-alive connections, for --seconds).

The load comes from ``wrk`` (Debian's package) when it is installed, else from Python threads on
keep-alive connections, which are slower than the server: the report says which. Both share the
machine's cores with the consumer, so the figures are a floor, not the server's ceiling.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench import ours
from bench.common import Proc, free_port, log, stack_for
from bench.workload import workload

_WRK_LUA = """
local accounts = {%s}
request = function()
  return wrk.format("GET", "/accounts/" .. accounts[math.random(#accounts)])
end
"""


def python_load(port: int, accounts: list[str], seconds: float, connections: int, stop: threading.Event | None = None) -> dict:
    """``connections`` threads asking random accounts on keep-alive connections; counts and latencies."""
    counts = [0] * connections
    errors = [0] * connections
    latencies: list[list[float]] = [[] for _ in range(connections)]
    deadline = time.monotonic() + seconds

    def worker(i: int) -> None:
        rnd = random.Random(i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            started = time.perf_counter()
            try:
                conn.request("GET", f"/accounts/{rnd.choice(accounts)}")
                r = conn.getresponse()
                r.read()
                # Every answer is work the server did; only a 200 carries a total.
                counts[i] += 1
                if r.status == 200:
                    latencies[i].append(time.perf_counter() - started)
                else:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):  # not listening yet, or gone
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                time.sleep(0.05)
        conn.close()

    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    lat = sorted(x for per in latencies for x in per)
    return {
        "tool": f"python threads x{connections}",
        "requests_per_s": sum(counts) / elapsed,
        "non_200": sum(errors),
        "p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
        "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else None,
    }


def wrk_load(port: int, accounts: list[str], seconds: float, connections: int, workdir: Path) -> dict:
    """wrk with two threads and ``connections`` connections asking random accounts."""
    script = workdir / "accounts.lua"
    script.write_text(_WRK_LUA % ", ".join(json.dumps(a) for a in accounts))
    r = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    rps = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", r.stdout)

    def pct(p: str) -> float | None:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", r.stdout, re.M)
        if not m:
            return None
        return float(m[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m[2]]

    return {
        "tool": f"wrk -t2 -c{connections}",
        "requests_per_s": float(rps[1]) if rps else None,
        "non_200": int(non2xx[1]) if non2xx else 0,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
    }


def wait_answering(port: int, account: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/{account}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the consumer on port {port} did not answer for {account} within {timeout:.0f}s")


def measure(
    bootstrap: str, registry: str, size: int, accounts_n: int, reps: int, seconds: float, connections: int, work: Path
) -> dict:
    """The service's cost and rate on a running stack: drains with it off and on (asked all the
    time), side by side, then one idle instance's requests per second. Used by main and bench.run."""
    wl = workload(size, accounts_n, 42)
    accounts = sorted(wl.final_totals)
    use_wrk = shutil.which("wrk") is not None
    results: dict = {"size": size, "accounts": accounts_n, "reps": reps, "load": "wrk" if use_wrk else "python"}
    topic = f"bench-service-{time.time_ns()}"
    ours.producer(bootstrap, registry, topic, wl, work, "service-fill", 900)
    ours.consumer_drain(bootstrap, registry, topic, wl, "exactly_once_v2", work, "service-warm-up", 900)
    off, on, served = [], [], []
    for rep in range(reps):
        log(f"drain with the service off, rep {rep + 1}/{reps}")
        off.append(ours.consumer_drain(bootstrap, registry, topic, wl, "exactly_once_v2", work, f"service-off-{rep}", 900))
        log(f"drain with the service on and asked all the time, rep {rep + 1}/{reps}")
        port = free_port()
        stop = threading.Event()
        load: dict = {}

        def ask(port: int = port, load: dict = load, stop: threading.Event = stop) -> None:
            load.update(python_load(port, accounts, 900, 2, stop))

        loader = threading.Thread(target=ask, daemon=True)
        loader.start()
        try:
            http_on = ["--http-port", str(port)]
            eos = "exactly_once_v2"
            drained = ours.consumer_drain(bootstrap, registry, topic, wl, eos, work, f"service-on-{rep}", 900, extra=http_on)
            on.append(drained)
        finally:
            stop.set()
            loader.join(30)
        served.append(load.get("requests_per_s") or 0.0)
    results["drain_service_off_records_per_s"] = statistics.median(r["wall_records_per_s"] for r in off)
    results["drain_service_on_records_per_s"] = statistics.median(r["wall_records_per_s"] for r in on)
    results["requests_per_s_during_drain"] = statistics.median(served)
    results["drain_ratio_on_off"] = results["drain_service_on_records_per_s"] / results["drain_service_off_records_per_s"]

    log(f"idle instance: {seconds:.0f}s of GET /accounts/{{account}} over {connections} connections")
    port = free_port()
    group = f"bench-service-idle-{time.time_ns()}"
    cmd = ours.consumer_command(
        bootstrap, registry, topic, group, work / "idle-state", "exactly_once_v2", ["--http-port", str(port)]
    )
    p = Proc(cmd, work / "service-idle.out", work / "service-idle.err").start()
    try:
        # Every account's total committed and read back: the last account of the workload answers.
        wait_answering(port, accounts[-1], 600)
        time.sleep(2)
        if use_wrk:
            results["idle"] = wrk_load(port, accounts, seconds, connections, work)
        else:
            results["idle"] = python_load(port, accounts, seconds, connections)
    finally:
        p.stop()
    return results


def summary(results: dict) -> str:
    """Two lines: the idle instance's rate and latency, and what serving costs a drain."""
    idle = results["idle"]
    return (
        f"GET /accounts/{{account}} on one idle instance ({idle['tool']}): {idle['requests_per_s']:,.0f} requests/s, "
        f"p50 {idle['p50_ms']} ms, p99 {idle['p99_ms']} ms, non-200 {idle['non_200']}\n"
        f"drain of {results['size']:,} tx, median of {results['reps']}: service off "
        f"{results['drain_service_off_records_per_s']:,.0f} records/s, on and asked "
        f"({results['requests_per_s_during_drain']:,.0f} requests/s meanwhile) "
        f"{results['drain_service_on_records_per_s']:,.0f} records/s: {results['drain_ratio_on_off']:.2f} of off"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.service", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=300_000, help="transactions of the backlog (default 300,000)")
    ap.add_argument("--accounts", type=int, default=1000, help="accounts (default 1000)")
    ap.add_argument("--reps", type=int, default=3, help="drains of each kind; figures are medians (default 3)")
    ap.add_argument("--seconds", type=float, default=10, help="length of the idle query run (default 10)")
    ap.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    ap.add_argument("--out", type=Path, default=Path("bench-results/service"))
    ap.add_argument("--bootstrap", help="use this running stack instead of starting one (development)")
    ap.add_argument("--registry", help="its schema registry URL (with --bootstrap)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-service-", dir=args.out))
    with stack_for(args.bootstrap, args.registry, "txpipe-bench-service-") as (bootstrap, registry):
        results = measure(bootstrap, registry, args.size, args.accounts, args.reps, args.seconds, args.connections, work)
    (args.out / "service-results.json").write_text(json.dumps(results, indent=1))
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
