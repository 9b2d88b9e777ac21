"""results.json -> the issue's targets, a markdown table and PNG plots."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path


def _get(d: dict, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def targets(r: dict) -> list[dict]:
    """The issue's targets, each with the measured value and whether it is met."""
    out = []

    def add(name, goal, value, ok):
        out.append({"target": name, "goal": goal, "value": value, "met": bool(ok) if value is not None else None})

    ratio = _get(r, "producer", "ratio")
    add("producer records/s vs ProducerPerformance", ">= 0.50", ratio, ratio is not None and ratio >= 0.5)
    ratio = _get(r, "consumer", "ratio_eos")
    add("consumer (EOS, per-message log) records/s vs ConsumerPerformance", ">= 0.25", ratio, ratio is not None and ratio >= 0.25)
    ours = _get(r, "latency", "rates", "10000", "ours", "p99_ms")
    ref = _get(r, "latency", "end_to_end_latency", "p99_ms")
    if ours is not None and ref is not None:
        add("e2e p99 at 10,000 tx/s (ms)", f"<= EndToEndLatency p99 + 10 = {ref + 10:.0f}", ours, ours <= ref + 10)
    rss = _get(r, "producer", "ours", "peak_rss_mib")
    add("producer peak RSS (MiB)", "<= 100", rss, rss is not None and rss <= 100)
    rss = _get(r, "consumer", "ours_eos", "peak_rss_mib")
    add("consumer peak RSS (MiB)", "<= 400", rss, rss is not None and rss <= 400)
    rows = _get(r, "growth", "rows") or []
    accounts = _get(r, "params", "accounts")
    by_n = sorted((x for x in rows if x["accounts"] == accounts), key=lambda x: x["transactions"])
    if len(by_n) >= 2:
        # One-sided: a cost per transaction that falls with size (start-up, JIT warm-up spread over
        # more records) is fine; one that grows is what a long run cannot afford.
        a, b = by_n[0]["producer_steady_us_per_tx"], by_n[-1]["producer_steady_us_per_tx"]
        add(
            f"producer time/tx after start-up {by_n[0]['transactions']:,} -> {by_n[-1]['transactions']:,} (change)",
            "<= +20%",
            b / a - 1,
            b / a - 1 <= 0.2,
        )
        kept = running(r)
        if len(kept) >= 2:
            change = kept[-1][1] / kept[0][1] - 1
            add(
                f"consumer kept running, time/tx of a burst {kept[0][0]:,} -> {kept[-1][0]:,} (change)",
                "<= +20%",
                change,
                change <= 0.2,
            )
        a, b = by_n[0]["consumer_peak_rss_mib"], by_n[-1]["consumer_peak_rss_mib"]
        add(
            f"consumer RSS {by_n[0]['transactions']:,} -> {by_n[-1]['transactions']:,} tx (change)",
            "flat (within +/-20%)",
            b / a - 1,
            abs(b / a - 1) <= 0.2,
        )
    return out


def marginal(r: dict) -> dict[str, list[tuple[int, int, float]]]:
    """Per side, µs per transaction between consecutive growth sizes: the difference of two wall
    clocks cancels the fixed start-up, leaving what each further transaction costs."""
    rows = _get(r, "growth", "rows") or []
    accounts = _get(r, "params", "accounts")
    by_n = sorted((x for x in rows if x["accounts"] == accounts), key=lambda x: x["transactions"])
    out: dict[str, list[tuple[int, int, float]]] = {}
    for side in ("producer", "consumer"):
        steps = []
        for a, b in pairwise(by_n):
            na, nb = a["transactions"], b["transactions"]
            if nb > na:
                steps.append((na, nb, (b[f"{side}_us_per_tx"] * nb - a[f"{side}_us_per_tx"] * na) / (nb - na)))
        out[side] = steps
    return out


def running(r: dict) -> list[tuple[int, float]]:
    """(burst size, µs per transaction) of the consumer kept running, smallest burst first."""
    rows = _get(r, "growth", "rows") or []
    return sorted(
        (x["transactions"], x["consumer_running_us_per_tx"])
        for x in rows
        if x.get("consumer_running_us_per_tx") and x["accounts"] == _get(r, "params", "accounts")
    )


def _fmt(v, digits=0) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float) and abs(v) < 10 and digits == 0:
        digits = 2
    return f"{v:,.{digits}f}"


def shown_value(t: dict) -> str:
    """A target's measured value as the table shows it."""
    val = t["value"]
    if val is None:
        return "n/a"
    if "change" in t["target"]:
        return f"{val:+.0%}"
    # A latency keeps its tenths: 14.4 ms against a limit of 14 must not read as 14.
    return _fmt(val, 1 if "(ms)" in t["target"] else 2 if val < 10 else 0)


def table(r: dict) -> str:
    m, v, p = r["machine"], r["versions"], r["params"]
    lines = [
        f"Benchmark run {r['started_at']} (took {r['duration_s']:.0f}s): {p['size']:,} transactions, {p['accounts']} accounts, "
        f"median of {p['reps']} repetition(s); stack security {p.get('security', 'plaintext')} (every client of the run).",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}; load average "
        f"{m['loadavg_at_start'][0]} at start, {m.get('loadavg_at_end', ['?'])[0]} at end (other work shares this machine: "
        "compare ratios, not absolute numbers).",
        f"Versions: Kafka {v['kafka']} (broker and tools), Apicurio Registry {v['apicurio_registry']}, Python {v['python']}, "
        f"confluent-kafka {v['confluent_kafka']} (librdkafka {v['librdkafka']}), protobuf {v['protobuf']}, Java {v['java']}; "
        f"consumer jar {v.get('consumer_jar', '?')}, git {v.get('git_head', '?')}.",
        "",
    ]
    if "producer" in r:
        pr = r["producer"]
        o, j = pr["ours"], pr["producer_performance"]
        lines += [
            f"**Producer** ({p['size']:,} records of {o['avg_record_bytes']:.1f} B key+value on average; "
            f"ProducerPerformance with --record-size {j['record_size']}, "
            + ", ".join(f"{k}={val}" for k, val in j["settings"].items())
            + ")",
            "",
            "| | records/s | MiB/s | records/s, wall clock | peak RSS MiB |",
            "|---|---:|---:|---:|---:|",
            f"| txpipe producer | {_fmt(o['records_per_s'])} | {_fmt(o['mib_per_s'], 2)} | "
            f"{_fmt(o['wall_records_per_s'])} | {_fmt(o['peak_rss_mib'])} |",
            f"| ProducerPerformance | {_fmt(j['records_per_s'])} | {_fmt(j['mib_per_s'], 2)} | "
            f"{_fmt(j['wall_records_per_s'])} | {_fmt(j['peak_rss_mib'])} |",
            f"| **ratio** | **{pr['ratio']:.2f}** | | {pr['ratio_wall']:.2f} | |",
            "",
        ]
    if "consumer" in r:
        c = r["consumer"]
        e, a, cp = c["ours_eos"], c["ours_alos"], c["consumer_performance"]
        lines += [
            f"**Consumer** (draining a backlog of {p['size']:,}: process start to every account's final total logged; "
            "stdout to a file; "
            + ("after one unmeasured drain that warmed the fresh broker; " if r.get("warm_up") else "")
            + (
                "classes mapped from the class-data archive an unmeasured drain recorded)"
                if r.get("consumer_class_archive")
                else "no class-data archive)"
            ),
            "",
            "| | records/s, wall clock | records/s after first record | ratio (wall) | peak RSS MiB |",
            "|---|---:|---:|---:|---:|",
            f"| txpipe consumer, exactly_once_v2 | {_fmt(e['wall_records_per_s'])} | {_fmt(e['steady_records_per_s'])} | "
            f"**{c['ratio_eos']:.2f}** | {_fmt(e['peak_rss_mib'])} |",
            *(
                [
                    f"| baseline `{Path(c['baseline_eos']['jar']).name}`, exactly_once_v2 | "
                    f"{_fmt(c['baseline_eos']['wall_records_per_s'])} | "
                    f"{_fmt(c['baseline_eos']['steady_records_per_s'])} | {c['ratio_baseline_eos']:.2f} | "
                    f"{_fmt(c['baseline_eos']['peak_rss_mib'])} |"
                ]
                if "baseline_eos" in c
                else []
            ),
            f"| txpipe consumer, at_least_once | {_fmt(a['wall_records_per_s'])} | {_fmt(a['steady_records_per_s'])} | "
            f"{c['ratio_alos']:.2f} | {_fmt(a['peak_rss_mib'])} |",
            f"| ConsumerPerformance | {_fmt(cp['wall_records_per_s'])} | {_fmt(cp['records_per_s'])} (its own figure) | "
            f"1.00 | {_fmt(cp['peak_rss_mib'])} |",
            "",
        ]
        m = c.get("ours_eos_misplaced")
        if m:
            share = m.get("moved_share")
            lines += [
                "The same backlog sent with librdkafka's `fnv1a` partitioner, so that "
                + (f"{share:.0%}" if share is not None else "most")
                + " of the records sit off their account's murmur2 partition and move through the by-account topic "
                f"(exactly_once_v2): {_fmt(m['wall_records_per_s'])} records/s, "
                f"{c['misplaced_cost']:.2f}x the time of the well-partitioned drain; peak RSS {_fmt(m['peak_rss_mib'])} MiB.",
                "",
            ]
    if "service" in r:
        sv = r["service"]
        idle = sv["idle"]
        lines += [
            f"**The consumer's HTTP service** ({sv['size']:,} tx over {sv['accounts']:,} accounts, median of {sv['reps']}): "
            f"a drain with the service on and asked all the time ({_fmt(sv['requests_per_s_during_drain'])} requests/s "
            f"served meanwhile) ran at {_fmt(sv['drain_service_on_records_per_s'])} records/s, "
            f"{sv['drain_ratio_on_off']:.2f} of the same drain with it off ({_fmt(sv['drain_service_off_records_per_s'])}); "
            f"one idle instance answered {_fmt(idle['requests_per_s'])} GET /accounts/{{account}} per second "
            f"({idle['tool']} load, p50 {_fmt(idle['p50_ms'], 1)} ms, p99 {_fmt(idle['p99_ms'], 1)} ms).",
            "",
        ]
    if "latency" in r:
        lat = r["latency"]
        j = lat["end_to_end_latency"]
        lines += [
            "**End-to-end latency**, ms (ours: wall clock at send to the consumer's log line read; "
            "EndToEndLatency: one record at a time, whole ms, no p95)",
            "",
            "| | achieved tx/s | p50 | p95 | p99 | p99.9 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for rate, d in lat["rates"].items():
            for key, note in (
                ("ours", ""),
                ("ours_linger0", ", producer linger.ms=0 (as EndToEndLatency forces; not the target's run)"),
            ):
                if d.get(key):
                    o = d[key]
                    lines.append(
                        f"| txpipe at {int(rate):,} tx/s{note} | {_fmt(o['achieved_send_rate'])} | {_fmt(o['p50_ms'], 1)} | "
                        f"{_fmt(o['p95_ms'], 1)} | {_fmt(o['p99_ms'], 1)} | {_fmt(o['p999_ms'], 1)} |"
                    )
        lines += [
            f"| EndToEndLatency | (round trips) | {_fmt(j['p50_ms'], 0)} | n/a | {_fmt(j['p99_ms'], 0)} | "
            f"{_fmt(j['p999_ms'], 0)} |",
            "",
        ]
    if "growth" in r:
        counts = sorted({row.get("producer_reps", 0) for row in r["growth"]["rows"]} - {0})
        if not counts:  # results written before each row kept its own count
            counts = [r.get("params", {}).get("growth_reps", 1)]
        if counts == [1]:
            each = "one run each"
        elif len(counts) == 1:
            each = f"median of {counts[0]} runs each"
        else:
            each = f"median of {' or '.join(map(str, counts))} runs each, the most for sizes under {100_000:,}"
        lines += [
            f"**Growth** ({each}; wall clock per transaction, peak RSS)",
            "",
            "| transactions | accounts | producer µs/tx | producer µs/tx after start-up | consumer µs/tx | "
            "consumer µs/tx after first record | producer RSS MiB | consumer RSS MiB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in r["growth"]["rows"]:
            lines.append(
                f"| {row['transactions']:,} | {row['accounts']:,} | {_fmt(row['producer_us_per_tx'], 1)} | "
                f"{_fmt(row['producer_steady_us_per_tx'], 1)} | "
                f"{_fmt(row['consumer_us_per_tx'], 1)} | {_fmt(row['consumer_steady_us_per_tx'], 1)} | "
                f"{_fmt(row['producer_peak_rss_mib'])} | {_fmt(row['consumer_peak_rss_mib'])} |"
            )
        lines.append("")
        steps = marginal(r)
        if steps.get("consumer"):
            described = "; ".join(
                f"{side} " + ", ".join(f"{_fmt(us, 1)} ({na:,} -> {nb:,})" for na, nb, us in steps[side])
                for side in ("producer", "consumer")
            )
            lines += [
                f"Marginal µs per transaction (difference of wall clocks between sizes, so without the fixed "
                f"start-up; informative, not a target): {described}.",
                "",
            ]
        kept = running(r)
        if kept:
            change = kept[-1][1] / kept[0][1] - 1
            lines += [
                f"A consumer kept running (after {r['params'].get('running_warmup', 0):,} unmeasured transactions), "
                f"first line to last of each burst our producer sent it meanwhile: "
                + ", ".join(f"{_fmt(us, 1)} µs/tx for {n:,}" for n, us in kept)
                + f" ({kept[0][0]:,} -> {kept[-1][0]:,}: {change:+.0%}; the consumer's flatness target).",
                "",
            ]
        first = _get(r, "consumer", "ours_eos", "first_line_after_s")
        if first is not None:
            lines += [
                f"A new consumer process, from its start to its first total (JVM start, topic checks, group join "
                f"and restore; median of the drains above): {first:.2f} s. Reported apart, not a target.",
                "",
            ]
    if r.get("targets"):
        lines += ["**Targets**", "", "| target | goal | measured | met |", "|---|---|---:|:---:|"]
        for t in r["targets"]:
            lines.append(f"| {t['target']} | {t['goal']} | {shown_value(t)} | {'yes' if t['met'] else 'NO'} |")
        lines.append("")
    return "\n".join(lines)


def plots(r: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    m = r["machine"]
    fig.suptitle(
        f"txpipe vs Kafka's tools, {r['params']['size']:,} tx, median of {r['params']['reps']} - "
        f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB, Kafka {r['versions']['kafka']} - {r['started_at']}",
        fontsize=10,
    )
    ours_c, ref_c = "#d95f02", "#7570b3"

    ax = axes[0][0]
    rows = []  # (label, ratio, our records/s, tool records/s, target)
    if "producer" in r:
        pr = r["producer"]
        rows.append(("producer", pr["ratio"], pr["ours"]["records_per_s"], pr["producer_performance"]["records_per_s"], 0.5))
    if "consumer" in r:
        c = r["consumer"]
        cp = c["consumer_performance"]["wall_records_per_s"]
        rows.append(("consumer\nexactly-once", c["ratio_eos"], c["ours_eos"]["wall_records_per_s"], cp, 0.25))
        rows.append(("consumer\nat-least-once", c["ratio_alos"], c["ours_alos"]["wall_records_per_s"], cp, None))
    if rows:
        ys = range(len(rows))
        ax.barh(list(ys), [x[1] * 100 for x in rows], color=[ours_c, ours_c, "#fdb863"][: len(rows)])
        ax.axvline(100, color=ref_c, lw=2)
        for i, (_label, ratio, mine, tool, goal) in enumerate(rows):
            ax.annotate(f" {ratio:.0%}  ({mine:,.0f} vs {tool:,.0f} rec/s)", (ratio * 100, i), va="center", fontsize=8)
            if goal:
                ax.plot([goal * 100] * 2, [i - 0.4, i + 0.4], color="red", lw=2)
        ax.set_yticks(list(ys), [x[0] for x in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, max(150, max(x[1] for x in rows) * 100 * 1.9))
        ax.set_xlabel("% of Kafka's tool's records/s (purple line: the tool = 100%; red: target)")
    ax.set_title(
        "Throughput vs ProducerPerformance / ConsumerPerformance\n(producer: own figures; consumer: wall clock to final totals)",
        fontsize=9,
    )

    ax = axes[0][1]
    if "latency" in r:
        lat = r["latency"]
        pcts = [("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"), ("p999_ms", "p99.9")]
        series = [(f"txpipe @ {int(rate):,}/s", d["ours"]) for rate, d in lat["rates"].items()]
        series.append(("EndToEndLatency", lat["end_to_end_latency"]))
        width = 0.8 / len(series)
        palette = ["#fdb863", ours_c, "#b35806", ref_c]
        for i, (label, d) in enumerate(series):
            ys = [max(d.get(k) or 0, 0.1) if d.get(k) is not None else 0 for k, _ in pcts]
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(pcts))]
            ax.bar(xs, ys, width, label=label, color=palette[-1] if label == "EndToEndLatency" else palette[i % 3])
        ax.set_xticks(range(len(pcts)), [n for _, n in pcts])
        ax.set_yscale("log")
        ax.set_ylabel("ms (log)")
        ref99 = lat["end_to_end_latency"].get("p99_ms")
        if ref99 is not None:
            ax.axhline(ref99 + 10, color="red", ls="--", lw=1, label="target p99: EndToEndLatency p99 + 10 ms")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * 30)
        ax.legend(fontsize=7, loc="upper left", ncol=2)
        ax.set_title("End-to-end latency (EndToEndLatency has no p95)", fontsize=9)
    else:
        ax.axis("off")

    ax = axes[1][0]
    names, vals, limits = [], [], []
    if "producer" in r:
        names += ["txpipe producer", "ProducerPerformance"]
        vals += [r["producer"]["ours"]["peak_rss_mib"], r["producer"]["producer_performance"]["peak_rss_mib"]]
        limits += [100, None]
    if "consumer" in r:
        names += ["txpipe consumer (EOS)", "ConsumerPerformance"]
        vals += [r["consumer"]["ours_eos"]["peak_rss_mib"], r["consumer"]["consumer_performance"]["peak_rss_mib"]]
        limits += [400, None]
    bars = ax.barh(names, vals, color=[ours_c, ref_c] * 2)
    for i, (b, val, lim) in enumerate(zip(bars, vals, limits, strict=True)):
        ax.annotate(
            f" {val:,.0f} MiB" + (f" (target {lim})" if lim else ""),
            (max(val, lim or 0) + 5, b.get_y() + b.get_height() / 2),
            va="center",
            fontsize=8,
        )
        if lim:
            ax.plot([lim, lim], [i - 0.4, i + 0.4], color="red", lw=2)
    ax.set_xlim(0, max(vals + [400]) * 1.45)
    ax.set_title("Peak RSS, MiB (red: target)", fontsize=9)
    ax.invert_yaxis()

    ax = axes[1][1]
    rows = (r.get("growth") or {}).get("rows") or []
    acc = r["params"]["accounts"]
    by_n = sorted((x for x in rows if x["accounts"] == acc), key=lambda x: x["transactions"])
    if by_n:
        xs = [x["transactions"] for x in by_n]
        ax.plot(xs, [x["producer_us_per_tx"] for x in by_n], "o-", color=ours_c, label="producer µs/tx (wall)")
        ax.plot(
            xs,
            [x["producer_steady_us_per_tx"] for x in by_n],
            "o--",
            color=ours_c,
            alpha=0.5,
            label="producer µs/tx after start-up",
        )
        ax.plot(xs, [x["consumer_us_per_tx"] for x in by_n], "s-", color="#1b9e77", label="consumer µs/tx (wall)")
        ax.plot(
            xs,
            [x["consumer_steady_us_per_tx"] for x in by_n],
            "s--",
            color="#1b9e77",
            alpha=0.5,
            label="consumer µs/tx after first record",
        )
        kept = [x for x in by_n if x.get("consumer_running_us_per_tx")]
        if kept:
            ax.plot(
                [x["transactions"] for x in kept],
                [x["consumer_running_us_per_tx"] for x in kept],
                "D-.",
                color="#7570b3",
                label="consumer kept running, µs/tx of a burst",
            )
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{x:,}" for x in xs])
        ax.minorticks_off()
        ax.set_xlabel(f"transactions ({acc} accounts)")
        ax.set_ylabel("µs per transaction")
        ax.set_ylim(0, None)
        ax2 = ax.twinx()
        ax2.plot(xs, [x["consumer_peak_rss_mib"] for x in by_n], "^:", color="grey", label="consumer peak RSS MiB")
        ax2.set_ylabel("MiB")
        ax2.set_ylim(0, max(x["consumer_peak_rss_mib"] for x in by_n) * 1.3)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower left")
        others = [x for x in rows if x["accounts"] != acc]
        note = "; ".join(
            f"{x['accounts']:,} accounts @ {x['transactions']:,}: consumer {x['consumer_us_per_tx']:.0f} µs/tx, "
            f"{x['consumer_peak_rss_mib']:.0f} MiB"
            for x in others
        )
        ax.set_title("Growth: time per transaction (flat is good)" + (f"\n{note}" if note else ""), fontsize=9)
    else:
        ax.axis("off")
    fig.tight_layout()
    path = out / "bench-summary.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    made.append(path)
    return made


def write(r: dict, out: Path) -> None:
    (out / "README-table.md").write_text(table(r) + "\n")
    plots(r, out)
