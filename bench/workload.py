"""The synthetic workload the producer sends, recomputed here: record sizes and expected totals.

The producer's generator is deterministic for (count, accounts, seed), so the harness knows,
without asking the producer, what every record weighs and what every account's final total
(and every intermediate total) must be.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from txpipe import generator
from txpipe.totals import amount_decimal, format_total

# Confluent framing in front of the protobuf bytes: magic byte, 4-byte schema id, and the
# single 0x00 byte that stands for message index [0].
FRAME_OVERHEAD = 6


@dataclass(frozen=True)
class Workload:
    count: int
    accounts: int
    seed: int
    avg_key_bytes: float
    avg_value_bytes: float
    final_totals: dict[str, str]

    @property
    def avg_record_bytes(self) -> float:
        return self.avg_key_bytes + self.avg_value_bytes


@lru_cache(maxsize=8)
def workload(count: int, accounts: int, seed: int) -> Workload:
    """Sizes and final totals of ``generator.generate(count, accounts, seed)``."""
    totals: dict[str, Decimal] = {}
    key_bytes = value_bytes = 0
    for tx in generator.generate(count, accounts, seed):
        key_bytes += len(tx.account_number.encode())
        value_bytes += FRAME_OVERHEAD + tx.ByteSize()
        totals[tx.account_number] = totals.get(tx.account_number, Decimal(0)) + amount_decimal(tx.amount)
    n = max(count, 1)
    return Workload(count, accounts, seed, key_bytes / n, value_bytes / n, {acc: format_total(t) for acc, t in totals.items()})


def running_lines(count: int, accounts: int, seed: int) -> list[tuple[str, str]]:
    """(account, total) as the consumer logs it after each transaction, in send order."""
    totals: dict[str, Decimal] = {}
    out = []
    for tx in generator.generate(count, accounts, seed):
        t = totals.get(tx.account_number, Decimal(0)) + amount_decimal(tx.amount)
        totals[tx.account_number] = t
        out.append((tx.account_number, format_total(t)))
    return out
