"""Synthetic transactions for the demo, the tests and the benchmarks.

Deterministic for a given seed, so a test can rerun a producer over exactly the same
input and a benchmark compares like with like.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timezone

from txpipe.schema import Transaction

DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
# RFC 9562's version (7) and variant (0b10) bits of a UUID, and the mask of its low 62 random bits.
_V7_BITS = 0x7 << 76 | 0b10 << 62
_LOW_62 = (1 << 62) - 1
# With reuse, how many transactions one message carries before a fresh one replaces it (its arena
# then holds about 60 KiB of strings; refilling a million times without renewal grew it by 60 MiB).
_REFILLS_PER_MESSAGE = 1000


def account_numbers(accounts: int) -> list[str]:
    """The account numbers a run uses: ACC-0001, ACC-0002, ..."""
    width = max(4, len(str(accounts)))
    return [f"ACC-{i:0{width}d}" for i in range(1, accounts + 1)]


def generate(count: int, accounts: int, seed: int, start: datetime = DEFAULT_START, *, reuse: bool = False) -> Iterator[Transaction]:
    """Yields ``count`` transactions over ``accounts`` accounts.

    The first ``accounts`` transactions go one to each account, so every account gets
    at least one whenever count >= accounts; the rest pick accounts at random.
    Amounts are whole cents from 0.01 to 5000.00, about one in ten a refund (negative).
    Timestamps rise 1 ms to 2 s at a time; ids are version-7 UUIDs of those timestamps, unique and rising.

    With ``reuse`` it yields one message, refilled for each transaction, instead of a new one each
    time: only for a caller that is done with each before asking for the next, as the sender is
    (building a message was about a tenth of the producer's time per record).
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if accounts < 1:
        raise ValueError(f"accounts must be >= 1, got {accounts}")
    rng = random.Random(seed)
    names = account_numbers(accounts)
    clock_ms = int(start.timestamp() * 1000)
    # Bound methods and plain string formatting: this loop feeds the benchmark, so it must
    # cost far less than sending (uuid.UUID and Timestamp.FromMilliseconds took half of it).
    # randint/randrange cost several times getrandbits; a modulo's bias of under 0.1% does not matter here.
    getrandbits, random_ = rng.getrandbits, rng.random
    # upb keeps every string set on a message in the message's arena until the message is freed,
    # so a refilled message grows by each transaction's strings: renew it every so often.
    renew_every = _REFILLS_PER_MESSAGE if reuse else 1
    for i in range(count):
        account = names[i] if i < accounts else names[getrandbits(32) % accounts]
        cents = getrandbits(24) % 500_000 + 1
        if random_() < 0.1:
            cents = -cents
        clock_ms += getrandbits(16) % 2_000 + 1
        # A version-7 UUID (RFC 9562): the transaction's millisecond time, then random bits, so ids
        # sort in the order they are made. The consumer's seen-id store then appends instead of
        # inserting at random (a million-record drain took about 15% less time than with version 4).
        r = getrandbits(74)
        h = "%032x" % (clock_ms << 80 | (r >> 62) << 64 | r & _LOW_62 | _V7_BITS)
        tid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if i % renew_every == 0:
            tx = Transaction()
        # Every field is set on every pass, so nothing of the previous transaction survives a refill.
        tx.transaction_id = tid
        tx.account_number = account
        tx.transaction_reference = "REF-%010X" % getrandbits(40)
        tx.amount = cents / 100
        stamp = tx.transaction_datetime
        stamp.seconds, millis = divmod(clock_ms, 1000)
        stamp.nanos = millis * 1_000_000
        yield tx
