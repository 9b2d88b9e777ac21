import math
import uuid
from collections import Counter
from decimal import Decimal
from itertools import pairwise

import pytest

from txpipe.generator import account_numbers, generate
from txpipe.totals import amount_decimal


def test_default_run_covers_exactly_twenty_accounts():
    txs = list(generate(1000, 20, seed=42))
    assert len(txs) == 1000
    per_account = Counter(t.account_number for t in txs)
    assert set(per_account) == set(account_numbers(20))
    assert min(per_account.values()) >= 1


def test_same_seed_same_data_other_seed_other_data():
    a = [t.SerializeToString() for t in generate(200, 20, seed=7)]
    b = [t.SerializeToString() for t in generate(200, 20, seed=7)]
    c = [t.SerializeToString() for t in generate(200, 20, seed=8)]
    assert a == b
    assert a != c


def test_reuse_refills_a_message_with_the_same_transactions_and_renews_it():
    fresh = list(generate(2500, 20, seed=5))
    messages = []  # each distinct message yielded, in order (held, so no id can be recycled)
    refilled = []
    for t in generate(2500, 20, seed=5, reuse=True):
        if not messages or messages[-1] is not t:
            messages.append(t)
        refilled.append(t.SerializeToString())
    assert refilled == [t.SerializeToString() for t in fresh]
    # upb's arena keeps every string a message was given: a fresh one every 1000 bounds that.
    assert len(messages) == 3
    assert len({id(t) for t in fresh}) == 2500, "without reuse each transaction is its own object"


def test_fields_are_well_formed():
    txs = list(generate(2000, 20, seed=1))
    assert len({t.transaction_id for t in txs}) == len(txs)
    stamps = [t.transaction_datetime.ToMilliseconds() for t in txs]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # Version-7 ids carry the transaction's millisecond time, so they rise with it.
    ids = [t.transaction_id for t in txs]
    assert ids == sorted(ids)
    for t in txs:
        u = uuid.UUID(t.transaction_id)
        assert (u.version, u.variant, str(u)) == (7, uuid.RFC_4122, t.transaction_id)
        assert u.int >> 80 == t.transaction_datetime.ToMilliseconds()
    for t in txs:
        assert math.isfinite(t.amount) and t.amount != 0
        assert amount_decimal(t.amount) == amount_decimal(t.amount).quantize(Decimal("0.01"))
        assert t.transaction_reference.startswith("REF-")
    assert any(t.amount < 0 for t in txs), "some refunds"


def test_account_numbers_widen_for_many_accounts():
    assert account_numbers(3) == ["ACC-0001", "ACC-0002", "ACC-0003"]
    assert account_numbers(100000)[-1] == "ACC-100000"


@pytest.mark.parametrize("count,accounts", [(-1, 20), (10, 0)])
def test_bad_arguments_are_refused(count, accounts):
    with pytest.raises(ValueError):
        list(generate(count, accounts, seed=1))


def test_draws_follow_the_documented_shape():
    # Large enough that each share is within a few points of what the docstring promises.
    txs = list(generate(20_000, 20, seed=3))
    refunds = sum(t.amount < 0 for t in txs) / len(txs)
    assert 0.08 < refunds < 0.12
    cents = [abs(amount_decimal(t.amount)) * 100 for t in txs]
    assert min(cents) >= 1 and max(cents) <= 500_000
    per_account = Counter(t.account_number for t in txs)
    assert min(per_account.values()) > 0.8 * len(txs) / 20
    stamps = [t.transaction_datetime.ToMilliseconds() for t in txs]
    steps = [b - a for a, b in pairwise(stamps)]
    assert min(steps) >= 1 and max(steps) <= 2000
    # Every variant digit RFC 9562 allows turns up, and nothing else does.
    assert {t.transaction_id[19] for t in txs} == set("89ab")
    for t in txs[:2000]:
        ref = t.transaction_reference
        assert len(ref) == 14 and ref[4:] == ref[4:].upper() and int(ref[4:], 16) >= 0


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 1001])
def test_counts_around_the_chunk_size(count):
    txs = list(generate(count, 3, seed=9))
    assert len(txs) == count
    assert len({t.transaction_id for t in txs}) == count
