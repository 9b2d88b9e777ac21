"""SeenIds finds every repeated id, whether the first sighting is still in memory or already on disk."""

from __future__ import annotations

import os
import random

import pytest

from txpipe.seen_ids import SeenIds


@pytest.mark.parametrize("memory_ids,bitmap_bits", [(10, 8), (10, 1 << 12), (1000, 1 << 16), (10**6, 1 << 10)])
def test_first_lines_are_exact_across_memory_and_disk(memory_ids, bitmap_bits, tmp_path):
    rnd = random.Random(memory_ids + bitmap_bits)
    ids = [f"id-{rnd.getrandbits(40):x}" for _ in range(3000)]
    ids += rnd.sample(ids, 400)  # repeats, some long after the first sighting
    rnd.shuffle(ids)
    expected: dict[str, int] = {}
    with SeenIds(memory_ids, bitmap_bits, directory=str(tmp_path)) as seen:
        for line, tid in enumerate(ids, start=2):
            assert seen.first_line(tid, line) == expected.get(tid), (tid, line)
            expected.setdefault(tid, line)
        assert len(seen) == len(expected)
        spilled = seen.on_disk > 0
        if memory_ids < 3000:
            assert spilled and os.listdir(tmp_path)
    assert os.listdir(tmp_path) == []  # the temporary store goes on close


def test_a_bitmap_with_few_bits_only_costs_queries():
    with SeenIds(memory_ids=5, bitmap_bits=8) as seen:
        for n in range(100):
            assert seen.first_line(f"x{n}", n) is None
        assert seen.queries > 50  # every bit set: each new id is confirmed absent on disk
