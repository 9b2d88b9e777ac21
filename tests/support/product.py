"""What the producer image ships: the modules of the txpipe package, and nothing else."""

from __future__ import annotations

# The modules (and the generated package gen/) of src/txpipe. A module added here ships in the
# producer image; the project's tooling belongs in src/txpipe_tools, test helpers in tests/support.
PRODUCT_MODULES = frozenset(
    {
        "__init__",
        "__main__",
        "client_config",
        "failures",
        "gen",
        "generator",
        "input_file",
        "metrics",
        "producer",
        "progress",
        "rejects",
        "schema",
        "seen_ids",
        "totals",
    }
)

# Names of the tooling that once lived in txpipe; none may come back into the image.
TOOLING_NAMES = (
    "txpipe_tools",
    "local_stack",
    "demo",
    "consumer_runner",
    "consumer_process",
    "verify",
    "class_archive",
    "compile_protos",
    "wire_format",
)
