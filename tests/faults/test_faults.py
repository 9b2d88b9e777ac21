"""Fault scenarios: exact totals through consumer crashes, scaling, broker loss, a registry
outage and a producer crash; the consumer crashes on the secured stacks too. Size from
$TXPIPE_FAULT_TX (default 100000; secured: $TXPIPE_SECURED_FAULT_TX, $TXPIPE_SECURED_FAULT_KILLS); see harness.py for
what each scenario must show to pass. Durations: printed and kept in .stack/faults/durations.json.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
from confluent_kafka.admin import AdminClient

from tests.support.stacks import grant
from txpipe_tools import local_stack

from .harness import (
    ACCOUNTS,
    Expected,
    check_lines,
    check_totals_topic,
    fault_tx,
    new_consumer,
    rate_for,
    record_duration,
    run_seconds,
    secured_fault_kills,
    secured_fault_tx,
    start_producer,
    topic_record_count,
    total_lines,
    wait_process,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration]

PRODUCER_TIMEOUT = 900
CATCH_UP_TIMEOUT = 600


def _finish(stack, topic, consumers, expected, producer=None):
    if producer is not None:
        assert wait_process(producer, PRODUCER_TIMEOUT, "producer") == 0
    check_totals_topic(stack, topic, expected, timeout=CATCH_UP_TIMEOUT)
    # The log lines trail the committed totals by at most one commit: wait for the last ones.
    wait_until(lambda: _final_lines_logged(consumers, expected), 120, "the last total lines")
    return check_lines(consumers, expected)


def _final_lines_logged(consumers, expected) -> bool:
    """Each account's final total was logged by some instance (the one that owned it at the end)."""
    wanted = {f"({acc}, {total})" for acc, total in expected.totals.items()}
    for c in consumers:
        wanted.difference_update(list(c.lines))
        if not wanted:
            return True
    return False


def test_consumer_killed_five_times_mid_transaction(any_fault_stack, security, topic, tmp_path):
    """Five kills in plaintext; on sasl_ssl and mtls the same scenario with $TXPIPE_SECURED_FAULT_TX
    transactions and $TXPIPE_SECURED_FAULT_KILLS kills (`make test` runs them smaller, `make test-faults` full)."""
    stack, secured = any_fault_stack, security != "plaintext"
    n, t0 = (secured_fault_tx() if secured else fault_tx()), time.monotonic()
    planned = secured_fault_kills() if secured else 5
    group = f"g-{topic}"
    grant(stack, topic, group)
    state = tmp_path / "state"
    extra = ["--commit-interval-ms", "3000"]  # long transactions, so every kill finds one open
    consumers = [new_consumer(stack, topic, group, state, tmp_path / "logs", *extra)]
    truth = tmp_path / "truth.json"
    producer = start_producer(stack, topic, n, 101, rate=rate_for(n), truth=truth, log=tmp_path / "producer.log")
    kills = []
    try:
        for k in range(1, planned + 1):
            wait_until(
                lambda k=k: total_lines(consumers) >= k * n // (planned + 2),
                CATCH_UP_TIMEOUT,
                f"{k}/{planned + 2} of the lines",
            )
            before = consumers[-1].line_count()
            # Kill only while lines are flowing: records were processed since the last commit.
            wait_until(lambda before=before: consumers[-1].line_count() > before, 60, "new lines")
            consumers[-1].kill()
            wiped = k == min(3, planned)
            if wiped:
                shutil.rmtree(state)  # restore from the changelogs alone
            kills.append({"at_lines": total_lines(consumers), "state_dir_deleted": wiped})
            consumers.append(new_consumer(stack, topic, group, state, tmp_path / "logs", *extra))
        assert wait_process(producer, PRODUCER_TIMEOUT, "producer") == 0
        expected = Expected.from_truth(truth)
        report = _finish(stack, topic, consumers, expected)
        # Evidence the kills hit open transactions: the next instance re-logged what was rolled back.
        # (A kill can land in the few ms right after a commit, so one restart without repeats is tolerated.)
        assert sum(r > 0 for r in report.per_instance_repeats[1:]) >= planned - 1, report.per_instance_repeats
    finally:
        for c in consumers:
            c.stop()
    record_duration(
        f"1-consumer-kill-9-x{planned}" + (f"-{security}" if secured else ""),
        time.monotonic() - t0,
        n,
        "pass",
        lines=report.lines,
        repeated_lines=report.repeated,
        repeats_per_restart=report.per_instance_repeats[1:],
        kills=kills,
    )


def test_scale_consumers_1_2_3_2_1(fault_stack, topic, tmp_path):
    n, t0 = fault_tx(), time.monotonic()
    group = f"g-{topic}"

    def consumer(i):
        # Streams normally keeps a stateful task on its caught-up instance and only warms the new
        # one up (moving it after a probing rebalance, >= 1 min later). Counting every lag as
        # acceptable moves the totals with the partitions at each step, which is what is under test.
        return new_consumer(
            fault_stack, topic, group, tmp_path / f"state-{i}", tmp_path / "logs", "-X", "acceptable.recovery.lag=1000000000"
        )

    c1 = consumer(1)
    all_consumers = [c1]
    truth = tmp_path / "truth.json"
    producer = start_producer(fault_stack, topic, n, 202, rate=rate_for(n), truth=truth, log=tmp_path / "producer.log")
    steps = []
    try:
        plan = [("start", 2), ("start", 3), ("stop", 3), ("stop", 2)]
        running = {1: c1}
        wait_until(lambda: c1.line_count() > 0, CATCH_UP_TIMEOUT, "the first lines")
        # Spread the steps over the producer's run, each lasting a fifth of it (at least 8 s, time
        # for the new assignment to start working), so every step happens while data flows.
        dwell = max(8.0, run_seconds() / 5)
        for action, i in plan:
            time.sleep(dwell)
            if action == "start":
                running[i] = consumer(i)
                all_consumers.append(running[i])
                wait_until(lambda i=i: "-> RUNNING" in running[i].stderr_text(), 120, f"instance {i} to join")
            else:
                running.pop(i).stop()  # graceful: SIGTERM, Streams closes and commits
            steps.append(f"{action} {i} -> {len(running)} instance(s)")
        assert wait_process(producer, PRODUCER_TIMEOUT, "producer") == 0
        expected = Expected.from_truth(truth)
        report = _finish(fault_stack, topic, all_consumers, expected)
        # Each instance owned partitions at some point and logged their accounts' totals.
        assert all(c.line_count() > 0 for c in all_consumers), [c.line_count() for c in all_consumers]
    finally:
        for c in all_consumers:
            c.stop()
    record_duration(
        "2-scale-1-2-3-2-1",
        time.monotonic() - t0,
        n,
        "pass",
        lines=report.lines,
        repeated_lines=report.repeated,
        lines_per_instance=[c.line_count() for c in all_consumers],
        steps=steps,
    )


def _leader(bootstrap: str, topic: str, partition: int) -> int:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=30)
    return md.topics[topic].partitions[partition].leader


def _fully_replicated(bootstrap: str) -> bool:
    try:
        md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    except Exception:
        return False
    return all(len(p.isrs) == len(p.replicas) for t in md.topics.values() for p in t.partitions.values())


def test_partition_leader_killed_on_three_nodes(cluster3, topic, tmp_path):
    n, t0 = fault_tx(), time.monotonic()
    stack = cluster3
    consumers = [new_consumer(stack, topic, f"g-{topic}", tmp_path / "state", tmp_path / "logs", "--replication-factor", "3")]
    truth = tmp_path / "truth.json"
    producer = start_producer(
        stack, topic, n, 303, "--replication-factor", "3", rate=rate_for(n), truth=truth, log=tmp_path / "producer.log"
    )
    kills = []
    try:
        for k in range(1, 4):
            wait_until(lambda k=k: total_lines(consumers) >= k * n // 5, CATCH_UP_TIMEOUT, f"{k}/5 of the lines")
            wait_until(lambda: _fully_replicated(stack.bootstrap_servers), 120, "all ISRs full again")
            partition = (k - 1) % 6
            leader = _leader(stack.bootstrap_servers, topic, partition)
            t_kill = time.monotonic()
            local_stack.kill_node(leader, run_dir=stack.run_dir)
            time.sleep(5)  # producer and consumer work on with two nodes
            local_stack.start_node(leader, run_dir=stack.run_dir)
            kills.append({"partition": partition, "node": leader, "down_s": round(time.monotonic() - t_kill, 1)})
            assert consumers[0].alive(), "the consumer died when a broker was lost"
        assert wait_process(producer, PRODUCER_TIMEOUT, "producer") == 0
        expected = Expected.from_truth(truth)
        report = _finish(stack, topic, consumers, expected)
    finally:
        for c in consumers:
            c.stop()
    record_duration(
        "3-three-nodes-leader-kill-9-x3",
        time.monotonic() - t0,
        n,
        "pass",
        lines=report.lines,
        repeated_lines=report.repeated,
        kills=kills,
    )


def test_schema_registry_outage(fault_stack, topic, tmp_path):
    n, t0 = fault_tx(), time.monotonic()
    outage_s = float(os.environ.get("TXPIPE_FAULT_REGISTRY_OUTAGE_S", "20"))
    group = f"g-{topic}"
    consumers = [new_consumer(fault_stack, topic, group, tmp_path / "state", tmp_path / "logs")]
    truth = tmp_path / "truth.json"
    producer = start_producer(fault_stack, topic, n, 404, rate=rate_for(n), truth=truth, log=tmp_path / "producer.log")
    try:
        wait_until(lambda: total_lines(consumers) >= n // 4, CATCH_UP_TIMEOUT, "a quarter of the lines")
        local_stack.stop_registry(run_dir=fault_stack.run_dir)
        t_down = time.monotonic()
        # A consumer instance that starts during the outage has no schema cached: it must wait.
        consumers[-1].kill()
        consumers.append(new_consumer(fault_stack, topic, group, tmp_path / "state", tmp_path / "logs"))
        # A producer that starts during the outage cannot register its schema: it fails clearly, sends nothing.
        late = start_producer(fault_stack, topic, 100, 405, "--registry-wait", "5", log=tmp_path / "late-producer.log")
        assert wait_process(late, 120, "producer started during the outage") == 1
        late_out = (tmp_path / "late-producer.log").read_text()
        assert "schema registry unusable" in late_out, late_out
        time.sleep(max(0.0, outage_s - (time.monotonic() - t_down)))
        # It waits for the registry instead of dead-lettering or skipping what it cannot decode.
        # (at start-up its check of the registry URL waits; once running, a schema lookup would)
        wait_until(
            lambda: any(
                m in consumers[-1].stderr_text() for m in ("waiting for the schema registry", "schema registry cannot answer")
            ),
            30,
            "the new instance to report the registry outage",
        )
        assert consumers[-1].alive()
        local_stack.start_registry(run_dir=fault_stack.run_dir)
        down_s = time.monotonic() - t_down
        assert wait_process(producer, PRODUCER_TIMEOUT, "producer") == 0  # it had the schema id cached
        expected = Expected.from_truth(truth)
        report = _finish(fault_stack, topic, consumers, expected)
        # Nothing was skipped as undecodable while the registry was away.
        assert topic_record_count(fault_stack.bootstrap_servers, f"{topic}-dlq") == 0
    finally:
        for c in consumers:
            c.stop()
        if not local_stack.status(run_dir=fault_stack.run_dir)["registry_http_ok"]:
            local_stack.start_registry(run_dir=fault_stack.run_dir)
    record_duration(
        "4-registry-outage",
        time.monotonic() - t0,
        n,
        "pass",
        lines=report.lines,
        repeated_lines=report.repeated,
        registry_down_s=round(down_s, 1),
    )


def test_producer_killed_and_run_again(fault_stack, topic, tmp_path):
    n, t0 = fault_tx(), time.monotonic()
    seed = 505
    consumer = new_consumer(fault_stack, topic, f"g-{topic}", tmp_path / "state", tmp_path / "logs")
    try:
        first = start_producer(fault_stack, topic, n, seed, rate=rate_for(n), log=tmp_path / "producer-1.log")
        wait_until(lambda: consumer.line_count() >= n * 2 // 5, CATCH_UP_TIMEOUT, "two fifths of the lines")
        first.kill()  # SIGKILL: no flush, no summary
        first.wait(10)
        sent_before_crash = topic_record_count(fault_stack.bootstrap_servers, topic)
        assert 0 < sent_before_crash < n
        second = start_producer(fault_stack, topic, n, seed, log=tmp_path / "producer-2.log")
        assert wait_process(second, PRODUCER_TIMEOUT, "second producer run") == 0
        assert topic_record_count(fault_stack.bootstrap_servers, topic) == sent_before_crash + n
        expected = Expected.from_generator(n, ACCOUNTS, seed)
        report = _finish(fault_stack, topic, [consumer], expected)
        assert report.repeated == 0  # no crash on the consumer side: every line is new
    finally:
        consumer.stop()  # SIGTERM: a clean close (the JVM exits 143)
    log = consumer.stderr_text()
    assert f"duplicates_dropped={sent_before_crash}" in log and f"counted={n} " in log, log[-2000:]
    assert log.count("dropping duplicate transaction_id=") == sent_before_crash
    record_duration(
        "5-producer-kill-9-rerun",
        time.monotonic() - t0,
        n,
        "pass",
        lines=report.lines,
        resent_duplicates_dropped=sent_before_crash,
    )
