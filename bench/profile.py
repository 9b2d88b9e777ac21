"""Where the time goes: py-spy (or pyinstrument) on the producer, JFR on the consumer.

    python -m bench.profile --size 100000 --out bench-results/profile [--bootstrap B --registry URL]

Writes producer.speedscope.json / producer-top.txt (py-spy, self time per function) or
producer-pyinstrument.txt, and consumer.jfr / consumer-hot-methods.txt (JFR execution samples).
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench import ours
from bench.common import PY, log, stack_for
from bench.workload import workload


def producer_profile(bootstrap: str, registry: str, n: int, accounts: int, out: Path) -> Path:
    cmd = [
        PY,
        "-m",
        "txpipe.producer",
        "-b",
        bootstrap,
        "-s",
        registry,
        "-t",
        f"prof-p-{n}",
        "-n",
        str(n),
        "-a",
        str(accounts),
        "-q",
    ]
    pyspy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    raw = out / "producer.pyspy.txt"
    if Path(pyspy).exists():
        r = subprocess.run(
            [pyspy, "record", "--native", "--rate", "250", "--format", "raw", "-o", str(raw), "--", *cmd],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        if r.returncode == 0 and raw.exists():
            top = out / "producer-top.txt"
            top.write_text(_collapsed_top(raw))
            return top
        log(f"py-spy failed ({r.stdout[-300:]}); falling back to pyinstrument")
    txt = out / "producer-pyinstrument.txt"
    subprocess.run([PY, "-m", "pyinstrument", "-o", str(txt), "-m", *cmd[2:]], check=True, timeout=600)
    return txt


def _collapsed_top(raw: Path, limit: int = 30) -> str:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    own, incl, total = collections.Counter(), collections.Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")" if " (" in f else f for f in stack.split(";")]
        own[frames[-1]] += c
        for f in set(frames):
            incl[f] += c
    lines = [f"{total} samples", "", "self %  function"]
    lines += [f"{100 * c / total:5.1f}  {f}" for f, c in own.most_common(limit)]
    lines += ["", "inclusive %  function"]
    lines += [f"{100 * c / total:5.1f}  {f}" for f, c in incl.most_common(limit)]
    return "\n".join(lines) + "\n"


def consumer_profile(bootstrap: str, registry: str, n: int, accounts: int, out: Path) -> Path:
    topic = f"prof-c-{n}"
    wl = workload(n, accounts, 42)
    ours.producer(bootstrap, registry, topic, wl, out, "prof-fill", 600)
    jfr = out / "consumer.jfr"
    res = ours.consumer_drain(
        bootstrap,
        registry,
        topic,
        wl,
        "exactly_once_v2",
        out,
        "prof-consumer",
        900,
        jvm=[f"-XX:StartFlightRecording=filename={jfr},settings=profile,dumponexit=true"],
    )
    log(f"consumer drained {n} at {res['wall_records_per_s']:.0f}/s (under JFR)")
    jfr_tool = next((str(p) for p in sorted(Path("/usr/lib/jvm").glob("*/bin/jfr"), reverse=True)), "jfr")
    hot = out / "consumer-hot-methods.txt"
    # `jfr print` works on every JDK; aggregate top frames of execution samples ourselves.
    parts = []
    for event in ("jdk.ExecutionSample", "jdk.NativeMethodSample"):
        r = subprocess.run(
            [jfr_tool, "print", "--events", event, "--stack-depth", "12", str(jfr)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        parts.append(f"===== {event} (Java code running / threads inside native calls)\n" + _jfr_top(r.stdout))
    hot.write_text("\n".join(parts))
    return hot


def _jfr_top(text: str, limit: int = 40) -> str:
    """Top frames and on-stack shares from `jfr print` output of sample events."""
    top, incl, total = collections.Counter(), collections.Counter(), 0
    for block in text.split("stackTrace = [")[1:]:
        frames = []
        for ln in block.splitlines()[1:]:
            ln = ln.strip()
            if ln.startswith("]") or ln == "...":
                break
            frames.append(re.sub(r"\s+line: \d+.*$", "", ln))
        if not frames:
            continue
        total += 1
        top[frames[0]] += 1
        for f in set(frames):
            incl[f] += 1
    if not total:
        return "0 samples\n"
    lines = [f"{total} samples", "", "top-frame %  method"]
    lines += [f"{100 * c / total:5.1f}  {f}" for f, c in top.most_common(limit)]
    lines += ["", "on-stack % (12 frames deep)  method"]
    lines += [f"{100 * c / total:5.1f}  {f}" for f, c in incl.most_common(limit)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile")
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path("bench-results/profile"))
    ap.add_argument("--only", choices=["producer", "consumer"])
    ap.add_argument("--bootstrap")
    ap.add_argument("--registry")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with stack_for(args.bootstrap, args.registry, "txpipe-prof-stack-") as (b, s):
        if args.only in (None, "producer"):
            log(f"producer profile: {producer_profile(b, s, args.size, args.accounts, args.out)}")
        if args.only in (None, "consumer"):
            log(f"consumer profile: {consumer_profile(b, s, args.size, args.accounts, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
