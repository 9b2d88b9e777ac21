"""Our producer's throughput, an earlier commit's code beside this tree's, in one run on one stack.

    python -m bench.producer_side_by_side --old main --size 1000000 --reps 5 --out bench-results/side-by-side

Each run is the benchmark's producer step for one repetition (bench.ours.producer: the same synthetic
workload into a new topic, the producer's own rate from its summary line). The two trees take turns
in the order old, new, new, old, ... so a slow spell of a shared machine lands on both; an
unmeasured run of each comes first. The earlier tree is the commit's src/ and proto/ (git archive)
with its protobuf module generated, run by this venv's Python through PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import ours
from bench.common import PY, ROOT, log, median, stack_for
from bench.workload import workload


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.producer_side_by_side", description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the commit to compare with (e.g. main)")
    ap.add_argument("--size", type=int, default=1_000_000, help="transactions per run (default 1,000,000)")
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--reps", type=int, default=5, help="measured runs of each tree (default 5)")
    ap.add_argument("--out", type=Path, default=Path("bench-results/side-by-side"))
    ap.add_argument("--bootstrap", help="use this running stack instead of starting one")
    ap.add_argument("--registry", help="its schema registry URL (with --bootstrap)")
    return ap.parse_args(argv)


def old_tree(commit: str, into: Path) -> Path:
    """The commit's src/ and proto/ under ``into``, with the generated protobuf module."""
    archive = subprocess.run(
        ["git", "archive", commit, "src", "proto"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True, timeout=60)
    src = into / "src"
    # This tree's proto compiler (the old tree's may live elsewhere, or be older), run on the old tree's protos.
    subprocess.run(
        [PY, "-m", "txpipe_tools.compile_protos", "--proto-dir", str(into / "proto"), "--out-dir", str(src / "txpipe" / "gen")],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return src


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="side-by-side-", dir=args.out))
    rev = subprocess.run(
        ["git", "rev-parse", "--short", args.old], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    here = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    trees = {"old": str(old_tree(args.old, work)), "new": str(ROOT / "src")}
    with stack_for(args.bootstrap, args.registry, "txpipe-side-stack-") as (bootstrap, registry):
        wl = workload(args.size, args.accounts, args.seed)
        runs: dict[str, list[dict]] = {"old": [], "new": []}
        order = ["old", "new"] + [t for r in range(args.reps) for t in (("old", "new") if r % 2 == 0 else ("new", "old"))]
        for i, which in enumerate(order):
            measured = i >= 2
            os.environ["PYTHONPATH"] = trees[which]
            try:
                topic = f"side-{which}-{i}-{os.getpid()}"
                log(
                    f"{which} ({rev if which == 'old' else here}): {args.size} tx{'' if measured else ' (warm-up, not measured)'}"
                )
                r = ours.producer(bootstrap, registry, topic, wl, work, topic, 180 + args.size / 500)
            finally:
                del os.environ["PYTHONPATH"]
            r["loadavg"] = os.getloadavg()[0]
            if measured:
                runs[which].append(r)
                log(f"  {r['records_per_s']:,.0f} records/s, peak RSS {r['peak_rss_mib']:.0f} MiB, load {r['loadavg']:.1f}")
    fig = {
        w: {
            "records_per_s": median([r["records_per_s"] for r in rs]),
            "wall_s": median([r["wall_s"] for r in rs]),
            "peak_rss_mib": median([r["peak_rss_mib"] for r in rs]),
            "runs": rs,
        }
        for w, rs in runs.items()
    }
    result = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "old": rev,
        "new": here,
        "size": args.size,
        "reps": args.reps,
        "cpus": os.cpu_count(),
        **fig,
        "ratio_new_to_old": fig["new"]["records_per_s"] / fig["old"]["records_per_s"],
    }
    (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"old {rev}: {fig['old']['records_per_s']:,.0f} records/s   new {here}: {fig['new']['records_per_s']:,.0f} records/s   "
        f"new/old {result['ratio_new_to_old']:.3f}  (median of {args.reps} each, {args.size:,} tx)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
