"""Plots a soak run's figures: python -m tests.soak.plot RESULTS.json OUT.png (also writes OUT.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv: list[str]) -> int:
    results = json.loads(Path(argv[0]).read_text())
    out = Path(argv[1])
    steady = results["steady"]
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=False)
    title = f"steady {steady['rate']:.0f} tx/s, --dedupe-retention {steady['retention_s']}s, {steady['seconds'] / 60:.0f} min"
    if steady.get("rss_samples"):
        axes[0].plot([s / 60 for s, _ in steady["rss_samples"]], [r / 2**20 for _, r in steady["rss_samples"]])
        axes[0].set_ylabel("consumer RSS, MiB")
        axes[0].set_ylim(bottom=0)
    else:
        axes[0].bar(["middle third", "last third"], [steady["rss_middle_mib"], steady["rss_last_mib"]])
        axes[0].set_ylabel("consumer RSS, MiB (mean)")
    axes[0].set_title(title)
    if steady.get("cpu_us_per_tx"):
        axes[1].plot([s / 60 for s, _ in steady["cpu_us_per_tx"]], [c for _, c in steady["cpu_us_per_tx"]], ".", ms=3)
        axes[1].set_ylabel("consumer CPU µs per tx")
    else:
        closes = steady.get("segment_close", [])
        axes[1].plot([t / 60 for t, _, _ in closes], [ms for _, _, ms in closes], ".", ms=3)
        axes[1].set_ylabel("segment close, ms (one dot per task's segment)")
    axes[1].set_xlabel("minutes")
    axes[1].set_ylim(bottom=0)
    large = results.get("large_store")
    if large:
        axes[2].bar(range(len(large["segments"])), [ms for _, ms in large["segments"]])
        axes[2].set_ylabel("segment close, ms")
        axes[2].set_xlabel(
            f"segments forgotten (large store: {large['preload']:,} ids preloaded, retention {large['retention_s']}s)"
        )
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    summary = {name: {k: v for k, v in figures.items() if not isinstance(v, list)} for name, figures in results.items()}
    out.with_suffix(".md").write_text("```json\n" + json.dumps(summary, indent=1) + "\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
