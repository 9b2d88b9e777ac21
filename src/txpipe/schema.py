"""The generated protobuf classes, with a clear error when the build step was skipped."""

from __future__ import annotations

try:
    from txpipe.gen.account_total_pb2 import AccountTotal
    from txpipe.gen.transaction_pb2 import Transaction
except ImportError as exc:  # pragma: no cover - exercised only on a broken checkout
    raise ImportError(
        "txpipe.gen is missing: the protobuf modules are generated at build time. "
        "Run `make setup` (or `python -m txpipe_tools.compile_protos`)."
    ) from exc

__all__ = ["AccountTotal", "Transaction"]
