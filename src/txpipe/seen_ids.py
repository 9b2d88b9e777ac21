"""The transaction_ids an input has had, exactly, in memory that does not grow with the input.

The first ``memory_ids`` ids live in a dict. Past that, each batch of that size is written,
sorted, to an SQLite table in a temporary directory (deleted on close), and a bitmap of one bit
per hash slot says which ids may be there: an id whose bit is clear is new without a query; a
set bit is confirmed by a query (at 5 million ids about 1 new id in 27 finds its bit set by
another). Cost per id past the first batch: about 60 bytes of temporary disk and one row of a
batched, sorted insert; memory stays at the dict's batch (about 12 MB), the bitmap (16 MiB) and
SQLite's cache (4 MiB), whatever the input's size. Past about 50 million ids most bits are set
and most new ids cost a query: slower, still exact.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

MEMORY_IDS = 100_000  # ids held in the dict before a batch goes to disk: about 12 MB
BITMAP_BITS = 1 << 27  # 16 MiB; an id's slot is its hash modulo this
SQLITE_CACHE_KIB = 4096


class SeenIds:
    """``first_line(id, line)``: the line an id was first seen on, or None (and it is remembered)."""

    def __init__(self, memory_ids: int = MEMORY_IDS, bitmap_bits: int = BITMAP_BITS, directory: str | None = None):
        if bitmap_bits & (bitmap_bits - 1) or bitmap_bits < 8:
            raise ValueError("bitmap_bits must be a power of two >= 8")
        self.memory_ids = memory_ids
        self.bitmap_bits = bitmap_bits
        self.directory = directory
        self.recent: dict[str, int] = {}
        self.bitmap: bytearray | None = None  # allocated when the first batch goes to disk
        self.db: sqlite3.Connection | None = None
        self.tmp: str | None = None
        self.on_disk = 0
        self.queries = 0

    def first_line(self, tid: str, line: int) -> int | None:
        recent = self.recent
        first = recent.get(tid)
        if first is not None:
            return first
        bitmap, db = self.bitmap, self.db
        if bitmap is not None and db is not None:
            slot = hash(tid) & (self.bitmap_bits - 1)
            if bitmap[slot >> 3] & (1 << (slot & 7)):
                self.queries += 1
                row: tuple[int] | None = db.execute("SELECT line FROM ids WHERE id = ?", (tid,)).fetchone()
                if row is not None:
                    return row[0]
        recent[tid] = line
        if len(recent) >= self.memory_ids:
            self._spill()
        return None

    def __len__(self) -> int:
        return self.on_disk + len(self.recent)

    def _spill(self) -> None:
        if self.db is None:
            self.tmp = tempfile.mkdtemp(prefix="txpipe-ids-", dir=self.directory)
            # Nothing here must survive a crash: no journal, no syncs.
            self.db = sqlite3.connect(str(Path(self.tmp) / "ids.sqlite"), isolation_level=None)
            for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{SQLITE_CACHE_KIB}", "temp_store=FILE"):
                self.db.execute(f"PRAGMA {pragma}")
            self.db.execute("CREATE TABLE ids (id TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID")
            self.bitmap = bytearray(self.bitmap_bits >> 3)
        bitmap, mask = self.bitmap, self.bitmap_bits - 1
        assert bitmap is not None, "allocated with the database"
        for tid in self.recent:
            slot = hash(tid) & mask
            bitmap[slot >> 3] |= 1 << (slot & 7)
        # Sorted, the inserts walk the index in order instead of touching a random page each.
        batch = sorted(self.recent.items())
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO ids (id, line) VALUES (?, ?)", batch)
        self.db.execute("COMMIT")
        self.on_disk += len(batch)
        self.recent = {}

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        self.recent = {}
        self.bitmap = None

    def __enter__(self) -> SeenIds:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
