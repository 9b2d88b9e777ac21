"""Benchmarks of the pipeline against Kafka's own performance tools (issue 5).

    python -m bench.run --size 100000 --reps 3 --out bench-results/
    python -m bench.profile --size 100000 --out bench-results/profile/

See bench/README.md.
"""
