"""Synthetic transactions for the demo, the tests and the benchmarks.

Deterministic for a given seed, so a test can rerun a producer over exactly the same
input and a benchmark compares like with like.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from datetime import datetime, timezone
from itertools import accumulate

from txpipe.schema import Transaction

DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
# Transactions made at a time. With reuse, also how many one message carries before a fresh one
# replaces it: upb keeps every string set on a message until it is freed, so one message refilled forever grows.
CHUNK = 1000
# A 16-bit draw below this is a refund: 6554 / 65536 is 10.0%.
_REFUND_BELOW = 6554
# The shape of a version-7 UUID's text (RFC 9562): T are the 12 hex digits of the millisecond
# time, R random digits, 7 the version and V the variant digit (8, 9, a or b).
_UUID7_LAYOUT = "TTTTTTTT-TTTT-7RRR-VRRR-RRRRRRRRRRRR"
_REFERENCE_LAYOUT = "REF-##########"  # each # an upper-case hex digit
_HEX_DIGITS = b"0123456789abcdef"
# Any hex digit to a variant digit, two random bits' worth: 0-3 -> 8, 4-7 -> 9, 8-b -> a, c-f -> b.
_TO_VARIANT = bytes.maketrans(_HEX_DIGITS, b"88889999aaaabbbb")


def account_numbers(accounts: int) -> list[str]:
    """The account numbers a run uses: ACC-0001, ACC-0002, ..."""
    width = max(4, len(str(accounts)))
    return [f"ACC-{i:0{width}d}" for i in range(1, accounts + 1)]


def generate(
    count: int, accounts: int, seed: int, start: datetime = DEFAULT_START, *, reuse: bool = False
) -> Iterator[Transaction]:
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
    made = 0
    while made < count:
        n = min(CHUNK, count - made)
        # This feeds the benchmark, so it must cost far less than sending: the fields of a chunk are
        # drawn from one block of random bytes each, and the ids and references are formatted by
        # byte-slice assignments over the whole chunk (formatting one id at a time cost a quarter
        # of the producer's time per record).
        picks, cents, signs, steps = _draws(rng, n)
        chosen = [names[i] if i < accounts else names[p % accounts] for i, p in enumerate(picks, made)]
        amounts = [(c % 500_000 + 1) / (-100 if s < _REFUND_BELOW else 100) for c, s in zip(cents, signs, strict=True)]
        clocks = list(accumulate([s % 2_000 + 1 for s in steps], initial=clock_ms))[1:]
        clock_ms = clocks[-1]
        ids = _uuid7_texts(rng, clocks)
        refs = _texts(_REFERENCE_LAYOUT, n, {"#": _hex_columns(rng.randbytes(5 * n).hex().upper().encode(), 10)})
        if reuse:
            tx = Transaction()
            stamp = tx.transaction_datetime
        for tid, account, ref, amount, clock in zip(ids, chosen, refs, amounts, clocks, strict=True):
            if not reuse:
                tx = Transaction()
                stamp = tx.transaction_datetime
            # Every field is set on every pass, so nothing of the previous transaction survives a refill.
            tx.transaction_id = tid
            tx.account_number = account
            tx.transaction_reference = ref
            tx.amount = amount
            stamp.seconds = clock // 1000
            stamp.nanos = clock % 1000 * 1_000_000
            yield tx
        made += n


def _draws(rng: random.Random, n: int) -> tuple[tuple[int, ...], ...]:
    """n draws each of: the account (32 bits), the cents (32), the refund (16) and the time step (16)."""
    raw = rng.randbytes(12 * n)
    return (
        struct.unpack_from(f"<{n}I", raw, 0),
        struct.unpack_from(f"<{n}I", raw, 4 * n),
        struct.unpack_from(f"<{n}H", raw, 8 * n),
        struct.unpack_from(f"<{n}H", raw, 10 * n),
    )


def _uuid7_texts(rng: random.Random, clocks: list[int]) -> list[str]:
    """A version-7 UUID for each millisecond time, in canonical text, with 74 random bits.

    Version 7 leads with the time, so ids sort in the order they are made: the consumer's seen-id
    store then appends instead of inserting at random (a million-record drain took about 15% less
    time than with version-4 ids).
    """
    n = len(clocks)
    # Eight bytes per time; its 48-bit value is the last 12 of their 16 hex digits.
    times = struct.pack(f">{n}Q", *clocks).hex().encode()
    randoms = rng.randbytes(10 * n).hex().encode()  # 20 digits each: 18 random, 1 for the variant, 1 spare
    columns = {
        "T": _hex_columns(times, 16)[4:],
        "R": _hex_columns(randoms, 20)[:18],
        "V": [randoms[18::20].translate(_TO_VARIANT)],
    }
    return _texts(_UUID7_LAYOUT, n, columns)


def _hex_columns(digits: bytes, width: int) -> list[bytes]:
    """Split ``digits`` (records of ``width`` digits each, back to back) into its ``width`` columns."""
    return [digits[i::width] for i in range(width)]


def _texts(layout: str, n: int, columns: dict[str, list[bytes]]) -> list[str]:
    """``n`` strings shaped like ``layout``: each letter that names a column kind takes that kind's
    next column (one byte per string); every other character is copied as it is."""
    width = len(layout) + 1  # and a newline to split on
    out = bytearray(b"\n" * (width * n))
    taken = dict.fromkeys(columns, 0)
    for pos, ch in enumerate(layout):
        if ch in columns:
            out[pos::width] = columns[ch][taken[ch]]
            taken[ch] += 1
        else:
            out[pos::width] = ch.encode("ascii") * n
    return out[:-1].decode("ascii").split("\n")
