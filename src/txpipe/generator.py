"""Synthetic transactions for the demo, the tests and the benchmarks.

Deterministic for a given seed, so a test can rerun a producer over exactly the same
input and a benchmark compares like with like.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

from txpipe.schema import Transaction

DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def account_numbers(accounts: int) -> list[str]:
    """The account numbers a run uses: ACC-0001, ACC-0002, ..."""
    width = max(4, len(str(accounts)))
    return [f"ACC-{i:0{width}d}" for i in range(1, accounts + 1)]


def generate(count: int, accounts: int, seed: int, start: datetime = DEFAULT_START) -> Iterator[Transaction]:
    """Yields ``count`` transactions over ``accounts`` accounts.

    The first ``accounts`` transactions go one to each account, so every account gets
    at least one whenever count >= accounts; the rest pick accounts at random.
    Amounts are whole cents from 0.01 to 5000.00, about one in ten a refund (negative).
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if accounts < 1:
        raise ValueError(f"accounts must be >= 1, got {accounts}")
    rng = random.Random(seed)
    names = account_numbers(accounts)
    base_ms = int(start.timestamp() * 1000)
    clock_ms = base_ms
    for i in range(count):
        account = names[i] if i < accounts else names[rng.randrange(accounts)]
        cents = rng.randint(1, 500_000)
        if rng.random() < 0.1:
            cents = -cents
        clock_ms += rng.randint(1, 2_000)
        tx = Transaction(
            transaction_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            account_number=account,
            transaction_reference=f"REF-{rng.getrandbits(40):010X}",
            amount=cents / 100,
        )
        tx.transaction_datetime.FromMilliseconds(clock_ms)
        yield tx
