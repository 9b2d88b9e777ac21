"""The benchmark: our producer and consumer beside Kafka's own tools, on one local stack, in one run.

    python -m bench.run --size 1000000 --reps 3 --out bench-results/      # make bench
    python -m bench.run --smoke --out bench-results/smoke                 # make bench-smoke

It starts its own Kafka + schema registry (free loopback ports, private run dir), and writes
results.json, README-table.md and PNG plots to --out. Every figure is the median of --reps runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from bench import kafka_tools, ours, report, service
from bench.common import CONSUMER_JAR, SECURITY, log, machine_and_versions, median, stack_for
from bench.workload import workload
from txpipe_tools.class_archive import ClassArchive, usable

STEPS = ("producer", "consumer", "latency", "growth", "service")
# Growth runs smaller than this take --growth-small-reps repetitions.
SMALL_RUN = 100_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="transactions per throughput run (default 1,000,000)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions; each figure is their median (default 3)")
    ap.add_argument("--accounts", type=int, default=20, help="accounts of the main runs (default 20)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=Path("bench-results"))
    ap.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated subset of {','.join(STEPS)}")
    ap.add_argument("--rates", default="1000,10000", help="end-to-end latency rates, tx/s (default 1000,10000)")
    ap.add_argument("--latency-seconds", type=float, default=10, help="measured seconds per latency run (default 10)")
    ap.add_argument(
        "--latency-warmup",
        type=float,
        default=20,
        help="seconds sent at the rate before measuring, while the fresh consumer JVM compiles its hot code (default 20; "
        "with 5 the backlog built during start-up still dominated p95 at 10,000/s)",
    )
    ap.add_argument("--e2e-records", type=int, default=10_000, help="EndToEndLatency round trips (default 10,000)")
    ap.add_argument("--growth-sizes", default="10000,100000,1000000", help="sizes of the growth runs")
    ap.add_argument("--growth-accounts", default="20,100000", help="account counts of the growth runs (at --size)")
    ap.add_argument(
        "--growth-reps", type=int, help="repetitions of each growth run (default: --reps); each figure is their median"
    )
    ap.add_argument(
        "--growth-small-reps",
        type=int,
        default=7,
        help="repetitions of the growth runs under 100,000 transactions, if more than --growth-reps (default 7): "
        "a 10,000-record producer run lasts 40-90 ms, so a few ms of noise moves one run by a third",
    )
    ap.add_argument(
        "--running-warmup",
        type=int,
        default=200_000,
        help="transactions a consumer kept running takes, unmeasured, before the growth step's bursts (default 200,000)",
    )
    ap.add_argument(
        "--service-size",
        type=int,
        default=300_000,
        help="transactions of the service step's backlog, drained with the consumer's HTTP service off and on (default 300,000)",
    )
    ap.add_argument("--service-accounts", type=int, default=1000, help="accounts of the service step (default 1000)")
    ap.add_argument(
        "--service-seconds", type=float, default=10, help="seconds of GET /accounts/{account} on an idle instance (default 10)"
    )
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="tiny and quick, for CI: --size 2000 --reps 1, short latency runs, growth 1000,2000 / 20,500",
    )
    ap.add_argument(
        "--security",
        choices=["plaintext", "none", "sasl_ssl", "mtls"],
        default="plaintext",
        help="the local stack's security (none = plaintext, the default; sasl_ssl: TLS + SCRAM; mtls: client "
        "certificates): every client, ours and Kafka's tools, gets the client config of its role the stack writes",
    )
    ap.add_argument("--bootstrap", help="use this running stack instead of starting one (development)")
    ap.add_argument("--registry", help="its schema registry URL (with --bootstrap)")
    ap.add_argument(
        "--baseline-jar",
        type=Path,
        help="another build of the consumer (e.g. the last release's jar) drained beside ours in each "
        "repetition of the consumer step, exactly-once, so a change is measured before and after "
        "on the same broker at the same time",
    )
    ap.add_argument("--keep-work", action="store_true", help="keep the per-run logs and consumer output in OUT/work")
    args = ap.parse_args(argv)
    if args.security == "none":
        args.security = "plaintext"
    if args.bootstrap and args.security != "plaintext":
        ap.error("--security secures the stack the bench starts; it does not go with --bootstrap")
    if args.smoke:
        args.size, args.reps, args.latency_seconds, args.latency_warmup = 2000, 1, 2, 1
        args.e2e_records, args.growth_sizes, args.growth_accounts = 500, "1000,2000", "20,500"
        args.growth_small_reps, args.running_warmup = 1, 500
        args.service_size, args.service_accounts, args.service_seconds = 2000, 50, 2
        args.rates = "1000,10000"
    if args.growth_reps is None:
        # A 10,000-record producer run lasts 40-80 ms: one run alone moved its time per
        # transaction by half between two benchmarks of the same code.
        args.growth_reps = args.reps
    args.steps = [s for s in args.steps.split(",") if s]
    bad = set(args.steps) - set(STEPS)
    if bad:
        ap.error(f"unknown steps {sorted(bad)}")
    args.rates = [int(r) for r in args.rates.split(",") if r]
    args.growth_sizes = [int(s) for s in args.growth_sizes.split(",") if s]
    args.growth_accounts = [int(s) for s in args.growth_accounts.split(",") if s]
    return args


def growth_reps(n: int, reps: int, small_reps: int) -> int:
    """Repetitions of a growth run of n transactions: small runs take more, as noise moves them most."""
    return max(reps, small_reps) if n < SMALL_RUN else reps


def proc_timeout(n: int) -> float:
    """Generous bound for one process handling n transactions on a busy 2-core machine."""
    return 180 + n / 500


class Bench:
    def __init__(self, args: argparse.Namespace, bootstrap: str, registry: str, work: Path):
        self.args, self.bootstrap, self.registry, self.work = args, bootstrap, registry, work
        self.seq = 0
        from txpipe.producer import producer_config

        self.librdkafka_conf = producer_config(argparse.Namespace(bootstrap_servers=bootstrap, extra=[]))
        self.java_settings = kafka_tools.producer_settings(self.librdkafka_conf)
        self.filled: dict[tuple[int, int], str] = {}  # (count, accounts) -> a topic our producer filled

    def topic(self, what: str) -> str:
        self.seq += 1
        return f"bench-{what}-{self.seq}-{os.getpid()}"

    def ensure(self, topic: str) -> None:
        from confluent_kafka.admin import AdminClient

        from txpipe.producer import ensure_topic

        ensure_topic(AdminClient({**SECURITY.librdkafka(), "bootstrap.servers": self.bootstrap}), topic, 6, 1)

    # 1. producer ---------------------------------------------------------------------------
    def our_producer_once(self, wl, rep: int, reps: int, written_before: bool = False) -> dict:
        """One measured run of our producer into a new topic; with `written_before`, into a new
        topic that has first taken an unmeasured write to every partition the run will use.

        The broker's first append to each partition of a new topic took 5-8 ms (its request log
        showed six such appends in a 10,000-record run, 38 ms of the broker's time, and none when
        the same topic was written again, which took 36 ms instead of 65). That is a cost of the
        topic, not of the transactions, and a topic in service has long paid it; growth rows are
        measured past it. The throughput step keeps new topics, as ProducerPerformance gets.
        """
        topic = self.topic(f"p{wl.count}-a{wl.accounts}")
        if written_before:
            # One transaction to each account first: every partition the measured run writes.
            first = workload(max(1000, wl.accounts), wl.accounts, wl.seed + 1)
            ours.producer(self.bootstrap, self.registry, topic, first, self.work, f"{topic}-first", proc_timeout(first.count))
        log(
            f"our producer: {wl.count} tx, {wl.accounts} accounts, rep {rep + 1}/{reps}"
            + (" (topic written before)" if written_before else "")
        )
        run = ours.producer(self.bootstrap, self.registry, topic, wl, self.work, topic, proc_timeout(wl.count))
        if not written_before:  # holds exactly the workload: a backlog for the consumer
            self.filled[(wl.count, wl.accounts)] = topic
        return run

    @staticmethod
    def producer_summary(wl, runs: list[dict]) -> dict:
        return summarize(
            runs,
            {"avg_record_bytes": wl.avg_record_bytes, "avg_key_bytes": wl.avg_key_bytes, "avg_value_bytes": wl.avg_value_bytes},
        )

    def our_producer(self, n: int, accounts: int, reps: int, written_before: bool = False) -> dict:
        wl = workload(n, accounts, self.args.seed)
        return self.producer_summary(wl, [self.our_producer_once(wl, r, reps, written_before) for r in range(reps)])

    def producer_step(self) -> dict:
        # Ours and ProducerPerformance take turns, so a slow spell of the shared machine
        # (ProducerPerformance alone ranged 276k-598k records/s in one day) lands on both.
        a = self.args
        wl = workload(a.size, a.accounts, a.seed)
        size = round(wl.avg_record_bytes)
        our_runs, runs = [], []
        for r in range(a.reps):
            our_runs.append(self.our_producer_once(wl, r, a.reps))
            topic = self.topic("pp")
            self.ensure(topic)
            log(f"ProducerPerformance: {a.size} records of {size} bytes, rep {r + 1}/{a.reps}")
            runs.append(
                kafka_tools.producer_performance(
                    self.bootstrap, topic, a.size, size, self.java_settings, self.work, topic, proc_timeout(a.size)
                )
            )
        ourfig = self.producer_summary(wl, our_runs)
        pp = summarize(runs, {"record_size": size, "settings": self.java_settings})
        return {
            "ours": ourfig,
            "producer_performance": pp,
            "ratio": ourfig["records_per_s"] / pp["records_per_s"],
            "ratio_wall": ourfig["wall_records_per_s"] / pp["wall_records_per_s"],
            "our_settings": {k: v for k, v in self.librdkafka_conf.items() if k != "bootstrap.servers"},
        }

    # 2. consumer ---------------------------------------------------------------------------
    def backlog(self, n: int, accounts: int) -> str:
        if (n, accounts) not in self.filled:
            self.our_producer(n, accounts, 1)
        return self.filled[(n, accounts)]

    def our_consumer_once(self, wl, guarantee: str, rep: int, reps: int) -> dict:
        topic = self.backlog(wl.count, wl.accounts)
        name = f"c-{guarantee}-{wl.count}-{wl.accounts}-{rep}"
        log(f"our consumer ({guarantee}): draining {wl.count} tx, {wl.accounts} accounts, rep {rep + 1}/{reps}")
        return ours.consumer_drain(self.bootstrap, self.registry, topic, wl, guarantee, self.work, name, proc_timeout(wl.count))

    def misplaced_backlog(self, wl) -> str:
        """The workload sent with librdkafka's fnv1a partitioner: most records land off their
        account's murmur2 partition, so the consumer moves them through its by-account topic."""
        key = ("misplaced", wl.count, wl.accounts)
        if key not in self.filled:
            topic = self.topic(f"misplaced{wl.count}")
            log(f"our producer: {wl.count} tx with partitioner=fnv1a (off their murmur2 partitions), not measured")
            ours.producer(
                self.bootstrap,
                self.registry,
                topic,
                wl,
                self.work,
                topic,
                proc_timeout(wl.count),
                extra=["-X", "partitioner=fnv1a"],
            )
            self.filled[key] = topic
        return self.filled[key]

    def our_misplaced_consumer_once(self, wl, rep: int, reps: int) -> dict:
        topic = self.misplaced_backlog(wl)
        name = f"c-misplaced-{wl.count}-{rep}"
        log(f"our consumer (exactly_once_v2): draining {wl.count} mis-partitioned tx, rep {rep + 1}/{reps}")
        r = ours.consumer_drain(
            self.bootstrap, self.registry, topic, wl, "exactly_once_v2", self.work, name, proc_timeout(wl.count)
        )
        moved = re.findall(r"moved_to_owner=(\d+)", (self.work / f"{name}.err").read_text(errors="replace"))
        r["moved_share"] = int(moved[-1]) / wl.count if moved else None
        return r

    def our_consumer(self, n: int, accounts: int, guarantee: str, reps: int) -> dict:
        wl = workload(n, accounts, self.args.seed)
        return summarize([self.our_consumer_once(wl, guarantee, r, reps) for r in range(reps)], {"guarantee": guarantee})

    def class_archive(self) -> bool:
        """Records the consumer's class archive in an unmeasured drain, unless one matching the jar exists.

        Deployed consumers start from one (see txpipe_tools.class_archive), so the measured runs do too.
        """
        if usable(CONSUMER_JAR):
            return True
        n = min(self.args.size, 10_000)
        archive = ClassArchive(CONSUMER_JAR)
        log(f"our consumer: recording its class archive while draining {n} tx (not measured)")
        r = ours.consumer_drain(
            self.bootstrap,
            self.registry,
            self.backlog(n, self.args.accounts),
            workload(n, self.args.accounts, self.args.seed),
            "exactly_once_v2",
            self.work,
            "class-archive",
            proc_timeout(n),
            jvm=archive.flags,
        )
        archive.settle(r["returncode"])
        return usable(CONSUMER_JAR)

    def warm_up(self) -> dict:
        """One unmeasured round on the fresh broker: our producer fills the step-2 backlog, our
        consumer drains it once (exactly-once).

        A broker just started still runs its produce, fetch and transaction code interpreted. It
        used 4.0 s of CPU serving the second drain after its start against 1.2-1.5 s later on, and
        the first measured drain of every run was the slowest (12.2-12.7 s against 9.1-9.3 s). A
        broker in service is long past that, so every measured run, ours and Kafka's, comes after.
        """
        a = self.args
        wl = workload(a.size, a.accounts, a.seed)
        log(f"warm-up (not measured): our producer fills {a.size} tx, our consumer drains them once")
        topic = self.backlog(a.size, a.accounts)
        r = ours.consumer_drain(
            self.bootstrap, self.registry, topic, wl, "exactly_once_v2", self.work, "warm-up", proc_timeout(a.size)
        )
        return {"records": a.size, "consumer_wall_s": r["wall_s"]}

    def consumer_step(self) -> dict:
        # Each repetition runs all three in turn (as the producer step does), on the same backlog.
        a = self.args
        wl = workload(a.size, a.accounts, a.seed)
        topic = self.backlog(a.size, a.accounts)
        eos_runs, alos_runs, misplaced_runs, runs, baseline_runs = [], [], [], [], []
        for r in range(a.reps):
            eos_runs.append(self.our_consumer_once(wl, "exactly_once_v2", r, a.reps))
            if a.baseline_jar:
                log(f"baseline consumer {a.baseline_jar} (exactly_once_v2): draining {wl.count} tx, rep {r + 1}/{a.reps}")
                baseline_runs.append(
                    ours.consumer_drain(
                        self.bootstrap,
                        self.registry,
                        topic,
                        wl,
                        "exactly_once_v2",
                        self.work,
                        f"c-baseline-{r}",
                        proc_timeout(wl.count),
                        jar=a.baseline_jar,
                    )
                )
            alos_runs.append(self.our_consumer_once(wl, "at_least_once", r, a.reps))
            misplaced_runs.append(self.our_misplaced_consumer_once(wl, r, a.reps))
            log(f"ConsumerPerformance: {a.size} records, rep {r + 1}/{a.reps}")
            runs.append(
                kafka_tools.consumer_performance(self.bootstrap, topic, a.size, self.work, f"cp-{r}", proc_timeout(a.size))
            )
        eos = summarize(eos_runs, {"guarantee": "exactly_once_v2"})
        alos = summarize(alos_runs, {"guarantee": "at_least_once"})
        cp = summarize(runs, {})
        shares = [x["moved_share"] for x in misplaced_runs if x.get("moved_share") is not None]
        misplaced = summarize(
            misplaced_runs,
            {"guarantee": "exactly_once_v2", "partitioner": "fnv1a", "moved_share": median(shares) if shares else None},
        )
        baseline = {}
        if baseline_runs:
            b = summarize(baseline_runs, {"guarantee": "exactly_once_v2", "jar": str(a.baseline_jar)})
            baseline = {"baseline_eos": b, "ratio_baseline_eos": b["wall_records_per_s"] / cp["wall_records_per_s"]}
        return {
            "ours_eos": eos,
            "ours_alos": alos,
            "ours_eos_misplaced": misplaced,
            "consumer_performance": cp,
            **baseline,
            "misplaced_cost": eos["wall_records_per_s"] / misplaced["wall_records_per_s"],
            "ratio_eos": eos["wall_records_per_s"] / cp["wall_records_per_s"],
            "ratio_alos": alos["wall_records_per_s"] / cp["wall_records_per_s"],
            "ratio_eos_own_figures": eos["steady_records_per_s"] / cp["records_per_s"],
        }

    # 3. latency ----------------------------------------------------------------------------
    def our_latency(self, rate: int, producer_settings: dict[str, str] | None = None) -> dict:
        """Our pipeline's latency at `rate`, the median of --reps runs, each on a new topic."""
        a = self.args
        shown = ", ".join(f"{k}={v}" for k, v in (producer_settings or {}).items())
        extra = [arg for k, v in (producer_settings or {}).items() for arg in ("-X", f"{k}={v}")]
        runs = []
        for r in range(a.reps):
            topic = self.topic(f"lat{rate}")
            log(
                f"latency at {rate} tx/s for {a.latency_seconds:.0f}s{', producer ' + shown if shown else ''}, "
                f"rep {r + 1}/{a.reps}"
            )
            runs.append(
                ours.latency(
                    self.bootstrap,
                    self.registry,
                    topic,
                    rate,
                    a.latency_seconds,
                    a.latency_warmup,
                    a.accounts,
                    a.seed + r,
                    self.work,
                    topic,
                    proc_timeout(int(rate * a.latency_seconds)),
                    producer_extra=extra,
                )
            )
        return summarize(runs, {"producer_settings": shown} if shown else {})

    def latency_step(self) -> dict:
        a = self.args
        size = round(workload(a.size, a.accounts, a.seed).avg_record_bytes)
        out = {str(rate): {"ours": self.our_latency(rate)} for rate in a.rates}
        # EndToEndLatency sets linger.ms=0 over whatever its config says (it sends one record and
        # waits for it), so at the top rate ours runs once more with that setting too: how much of
        # the difference is the producer's linger rather than the pipeline.
        if a.rates:
            top = max(a.rates)
            out[str(top)]["ours_linger0"] = self.our_latency(top, {"linger.ms": "0"})
        runs = []
        for r in range(a.reps):
            topic = self.topic("e2e")
            self.ensure(topic)
            log(f"EndToEndLatency: {a.e2e_records} round trips, rep {r + 1}/{a.reps}")
            runs.append(
                kafka_tools.end_to_end_latency(
                    self.bootstrap,
                    topic,
                    a.e2e_records,
                    size,
                    self.java_settings,
                    self.work,
                    topic,
                    proc_timeout(a.e2e_records * 5),
                )
            )
        e2e = summarize(runs, {"record_size": size})
        return {"rates": out, "end_to_end_latency": e2e}

    # 5. growth -----------------------------------------------------------------------------
    def service_step(self) -> dict:
        """The consumer's HTTP service: a drain with it off beside one with it on and asked all the
        time (same backlog, alternating), and one idle instance's GET /accounts/{account} rate."""
        a = self.args
        log(f"service: {a.service_size} tx over {a.service_accounts} accounts, {a.reps} drains each way")
        return service.measure(
            self.bootstrap, self.registry, a.service_size, a.service_accounts, a.reps, a.service_seconds, 8, self.work
        )

    def growth_step(self, done: dict) -> dict:
        a = self.args
        rows = []
        cases = [(n, a.accounts) for n in a.growth_sizes] + [(a.size, acc) for acc in a.growth_accounts if acc != a.accounts]
        if a.size not in a.growth_sizes and a.accounts in a.growth_accounts:
            cases.append((a.size, a.accounts))
        for n, acc in sorted(set(cases)):
            reps = growth_reps(n, a.growth_reps, a.growth_small_reps)
            p = self.our_producer(n, acc, reps, written_before=True)
            if (n, acc) == (a.size, a.accounts) and "consumer" in done:
                c = done["consumer"]["ours_eos"]  # same runs, already measured
            else:
                c = self.our_consumer(n, acc, "exactly_once_v2", reps)
            rows.append(
                {
                    "transactions": n,
                    "accounts": acc,
                    "producer_reps": p["reps"],
                    "consumer_reps": c["reps"],
                    "producer_us_per_tx": p["us_per_tx"],
                    "producer_peak_rss_mib": p["peak_rss_mib"],
                    "consumer_us_per_tx": c["us_per_tx"],
                    "consumer_peak_rss_mib": c["peak_rss_mib"],
                    "consumer_steady_us_per_tx": 1e6 / c["steady_records_per_s"],
                    # The producer's own clock starts at its first send, after imports, topic and registry
                    # set-up, on a topic written before (see our_producer_once).
                    "producer_steady_us_per_tx": 1e6 / p["records_per_s"],
                }
            )
        running = self.running_consumer()
        for row in rows:
            if row["accounts"] == a.accounts and row["transactions"] in running:
                row["consumer_running_us_per_tx"] = running[row["transactions"]]
        return {"rows": rows}

    def running_consumer(self) -> dict[int, float]:
        """Median µs per transaction of bursts of each growth size, sent to one consumer kept running.

        Bursts take turns by size within each repetition, so a slow spell of the machine falls on all
        sizes; seeds differ, as the consumer would drop a transaction id it has counted before.
        """
        a = self.args
        sizes = sorted(set(a.growth_sizes))
        reps = {n: growth_reps(n, a.growth_reps, a.growth_small_reps) for n in sizes}
        order = [n for r in range(max(reps.values())) for n in sizes if r < reps[n]]
        bursts = [workload(n, a.accounts, a.seed + 1000 + i) for i, n in enumerate(order)]
        warmup = workload(a.running_warmup, a.accounts, a.seed + 999)
        log(
            f"a consumer kept running: {warmup.count} tx unmeasured, then bursts of {', '.join(f'{n:,}' for n in sizes)}"
            f" ({len(bursts)} in all)"
        )
        spans = ours.consumer_bursts(
            self.bootstrap, self.registry, self.topic("running"), warmup, bursts, self.work, "running", proc_timeout(max(sizes))
        )
        return {n: median([s / wl.count * 1e6 for s, wl in zip(spans, bursts, strict=True) if wl.count == n]) for n in sizes}


def summarize(runs: list[dict], extra: dict) -> dict:
    """Median of every numeric field across repetitions, plus the raw runs."""
    out = dict(extra)
    for key in runs[0]:
        vals = [r[key] for r in runs if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
        if len(vals) == len(runs):
            out[key] = median(vals)
        elif isinstance(runs[0][key], dict):
            out[key] = {k: median([r[key][k] for r in runs]) for k in runs[0][key] if isinstance(runs[0][key][k], (int, float))}
        elif key not in out:
            out[key] = runs[0][key]
    out["reps"] = len(runs)
    out["runs"] = runs
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not CONSUMER_JAR.is_file():
        print(f"error: {CONSUMER_JAR} is missing; run `make consumer-jar`", file=sys.stderr)
        return 2
    if args.baseline_jar and not args.baseline_jar.is_file():
        print(f"error: --baseline-jar {args.baseline_jar} is not a file", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    results: dict = {
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        **machine_and_versions(),
        "params": {k: v for k, v in vars(args).items() if k not in ("out", "bootstrap", "registry")},
    }
    t0 = time.monotonic()
    keep_logs = work / "stack-logs" if args.keep_work else None
    with stack_for(args.bootstrap, args.registry, "txpipe-bench-stack-", keep_logs, security=args.security) as (
        bootstrap,
        registry,
    ):
        b = Bench(args, bootstrap, registry, work)
        if {"consumer", "latency", "growth"} & set(args.steps):
            results["consumer_class_archive"] = b.class_archive()
        if {"producer", "consumer"} & set(args.steps):
            results["warm_up"] = b.warm_up()
        if "producer" in args.steps:
            results["producer"] = b.producer_step()
        if "consumer" in args.steps:
            results["consumer"] = b.consumer_step()
        if "latency" in args.steps:
            results["latency"] = b.latency_step()
        if "growth" in args.steps:
            results["growth"] = b.growth_step(results)
        if "service" in args.steps:
            results["service"] = b.service_step()
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["duration_s"] = round(time.monotonic() - t0, 1)
    results["targets"] = report.targets(results)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    report.write(results, args.out)
    if not args.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    log(f"done in {results['duration_s']:.0f}s: {args.out / 'results.json'}, {args.out / 'README-table.md'}")
    print((args.out / "README-table.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
