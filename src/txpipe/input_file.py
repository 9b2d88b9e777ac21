"""Reading transactions from CSV or JSON Lines, with an error per bad row.

A bad row never stops the input: it yields an ``InputError`` naming the input, the line and
the field, with the row's bytes as they were read, and every valid row is still yielded. The
input is a file, a ``.gz`` file or standard input (``-``); it is read as bytes, so an invalid
UTF-8 byte, an over-long row or an unclosed quote costs that row alone, and memory stays
bounded whatever the input's size (a row is at most ``max_row_bytes``; ids go to ``SeenIds``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import queue
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Protocol, cast

from txpipe.schema import Transaction
from txpipe.seen_ids import SeenIds

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

FIELDS = ("transaction_id", "account_number", "transaction_reference", "transaction_datetime", "amount")
FORMATS = ("csv", "jsonl")
STDIN = "-"
# The consumer dead-letters a record whose fields are longer than these (UTF-8 bytes; its
# FieldLimits): such a row would be sent yet never counted, so it is rejected here, with its line.
FIELD_LIMITS = {"transaction_id": 128, "account_number": 128, "transaction_reference": 512}
# A row longer than this is rejected unread. Every valid transaction is under 1 KiB; the margin
# is for columns the producer ignores. It bounds the memory one row can take.
MAX_ROW_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
# A plain decimal: digits with an optional point and exponent. Not "1_000", "0x10", "١٢" or
# "NaN", which float() and Decimal() would also take.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_CHUNK = 1 << 18  # bytes per read of the input, handed from the reading thread
_CHUNKS_AHEAD = 8  # chunks the reading thread may be ahead: 2 MiB


class InputStopped(Exception):
    """A stop was requested while the input had nothing to read (an idle pipe)."""


class InputUnreadable(Exception):
    """The input cannot be read past a point: a truncated .gz, a read error."""


@dataclass(frozen=True)
class InputError:
    """One rejected row: where it is, why, and its bytes as read (``raw``)."""

    path: str
    line: int
    field: str | None
    message: str
    raw: bytes | IO[bytes] = b""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(frozen=True)
class HeaderError(InputError):
    """The CSV header cannot be used: the file's rows are each rejected after it."""


@dataclass(slots=True)
class InputRow:
    """One valid row, the line it starts on and its bytes as read."""

    line: int
    transaction: Transaction
    raw: bytes = b""


def display_name(path: Path | str) -> str:
    return "<stdin>" if str(path) == STDIN else str(path)


def format_from_name(path: Path | str) -> str | None:
    """csv or jsonl from the name (``.csv``, ``.jsonl``, ``.ndjson``, ``.json``, each also ``.gz``), else None."""
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, fmt in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl")):
        if name.endswith(suffix):
            return fmt
    return None


def detect_format(path: Path) -> str:
    """csv or jsonl, from the file name."""
    fmt = format_from_name(path)
    if fmt is None:
        raise ValueError(f"{path}: cannot tell the format from the suffix {Path(path).suffix!r}; use .csv or .jsonl, or --format")
    return fmt


def format_from_first_line(line: bytes) -> str:
    """jsonl when the first line is a JSON object or array, else csv (a header)."""
    return "jsonl" if line.lstrip(_BOM + b" \t").startswith((b"{", b"[")) else "csv"


def parse_datetime(text: Any) -> datetime:
    """ISO 8601 text; a value without a zone is taken as UTC."""
    if type(text) is not str or not text.strip():
        raise ValueError("expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:  # before 3.11, fromisoformat takes no "Z"; and surrounding blanks are forgiven
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO 8601 date-time such as 2026-01-31T12:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# Why a zero amount is refused here; the consumer dead-letters one for the same reason.
ZERO_AMOUNT = "proto3 sends an amount of 0 as no amount at all, which the consumer cannot tell from a missing one"


_EXPONENT_OUT_OF_RANGE = "its exponent is too large to read (the schema's double holds about 5e-324 to 1.8e308)"


class _JsonNumber(str):
    """A JSON number's text, kept as written (json would round a float and can overflow on an int)."""


def parse_amount(value: Any) -> float:
    """The double an amount's decimal text is sent as; only if it carries the text's value exactly.

    The consumer reads a double as its shortest round-trip decimal (Python's repr), so the amount
    is exact only if that decimal equals the text's value: 10.50 is, 1234567890123456.78 (which
    arrives as 1234567890123456.8) and 1e-400 (which arrives as 0.0) are not. Zero is refused too,
    and so is an exponent too large for a decimal to hold (0e1000000000000000000): a ValueError either way.
    """
    if type(value) is _JsonNumber:
        text = str(value)
    elif type(value) is str:
        text = value.strip()
        if not _NUMBER.match(text):
            if text.lower().lstrip("+-") in ("nan", "inf", "infinity", "snan"):
                raise ValueError(f"{value!r} is not a finite amount")
            raise ValueError(f"{value!r} is not a number")
    else:
        raise ValueError(f"{value!r} is not a number")
    amount = float(text)
    if not math.isfinite(amount):
        raise ValueError(f"{text!r} is beyond the range of the schema's double (about ±1.8e308)")
    shortest = repr(amount)
    if shortest != text:
        try:
            exact = Decimal(shortest) == Decimal(text)
        except ArithmeticError:  # an exponent past about ±10**18 (1e-3000000000000000000): decimal cannot hold it
            raise ValueError(f"{text!r} is out of range: {_EXPONENT_OUT_OF_RANGE}") from None
        if not exact:
            raise ValueError(f"{text!r} cannot be carried exactly by the schema's double (it would arrive as {shortest})")
    if amount == 0:
        raise ValueError(f"{text!r} is zero: {ZERO_AMOUNT}")
    return amount


def _kind(value: Any) -> str:
    return "number" if isinstance(value, (_JsonNumber, int, float)) else type(value).__name__


def to_transaction(record: dict[str, Any]) -> tuple[Transaction | None, str | None, str | None]:
    """Validates one record; returns (transaction, None, None) or (None, field, message)."""
    get = record.get
    return make_transaction(
        get("transaction_id"), get("account_number"), get("transaction_reference"), get("transaction_datetime"), get("amount")
    )


def make_transaction(
    tid: Any, account: Any, reference: Any, when: Any, amount: Any
) -> tuple[Transaction | None, str | None, str | None]:
    """The transaction of one row's values (None where missing), or (None, field, message)."""
    # Straight-line code: this runs once per row, and a loop over the fields was measurably slower.
    if tid is None:
        return None, "transaction_id", "missing"
    if account is None:
        return None, "account_number", "missing"
    if reference is None:
        return None, "transaction_reference", "missing"
    if when is None:
        return None, "transaction_datetime", "missing"
    if amount is None:
        return None, "amount", "missing"
    if type(tid) is not str:
        return None, "transaction_id", f"expected text, got {_kind(tid)}"
    if type(account) is not str:
        return None, "account_number", f"expected text, got {_kind(account)}"
    if type(reference) is not str:
        return None, "transaction_reference", f"expected text, got {_kind(reference)}"
    tid = tid.strip()
    if not tid:
        return None, "transaction_id", "empty"
    account = account.strip()
    if not account:
        return None, "account_number", "empty"
    # A char is at most 3 UTF-8 bytes (a surrogate pair, two chars, is 4): short text is never measured.
    if len(tid) > 42 or len(account) > 42 or len(reference) > 170:
        for field, text in (("transaction_id", tid), ("account_number", account), ("transaction_reference", reference)):
            problem = _over_limit(text, FIELD_LIMITS[field])
            if problem:
                return None, field, problem
    try:
        value = parse_amount(amount)
    except ValueError as exc:
        return None, "amount", str(exc)
    try:
        moment = parse_datetime(when) - _EPOCH
    except ValueError as exc:
        return None, "transaction_datetime", str(exc)
    try:
        tx = Transaction(transaction_id=tid, account_number=account, transaction_reference=reference, amount=value)
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. JSON's "\ud800"
        return None, None, f"text that is not valid Unicode (a lone surrogate such as \\ud800) at character {exc.start + 1}"
    stamp = tx.transaction_datetime
    stamp.seconds = moment.days * 86400 + moment.seconds
    stamp.nanos = moment.microseconds * 1000
    return tx, None, None


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _over_limit(text: str, limit: int) -> str | None:
    if len(text) * 3 <= limit:
        return None
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        return f"not valid Unicode text (a lone surrogate) at character {exc.start + 1}"
    return f"{size} bytes, over the consumer's limit of {limit}" if size > limit else None


# --- the bytes ---------------------------------------------------------------------------------


class StopRequest(Protocol):
    """What a blocked read checks while it waits: ``requested`` turns true once the run is to stop."""

    requested: bool


class _Stream(Protocol):
    """An opened input: a file, a .gz being decompressed, or stdin."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class _Chunks(io.RawIOBase):
    """The input's bytes, read by a thread of their own and handed over a chunk at a time.

    A read of an idle pipe blocks until data comes, and Python retries it after a signal handler,
    so SIGTERM could not end a producer fed by ``tail -f``. Here the blocking read is in the
    reading thread; this side waits on a queue and raises InputStopped once a stop is requested.
    The thread also decompresses a .gz (zlib runs without the GIL) while the sender works.
    """

    def __init__(self, open_stream: Callable[[], _Stream], stop: StopRequest | None = None):
        super().__init__()
        self.stop = stop
        self.queue: queue.Queue[bytes | Exception] = queue.Queue(_CHUNKS_AHEAD)
        self.closing = threading.Event()
        self.pending = b""
        self.done = False
        self.thread = threading.Thread(target=self._read_all, args=(open_stream,), name="txpipe-input", daemon=True)
        self.thread.start()

    def _read_all(self, open_stream: Callable[[], _Stream]) -> None:
        try:
            stream = open_stream()
            # read1: what one read or one decompression step gives, so a truncated .gz hands over
            # every byte before the damage rather than failing its last whole chunk.
            read = getattr(stream, "read1", stream.read)
            try:
                while not self.closing.is_set():
                    chunk = read(_CHUNK)
                    self._put(chunk)
                    if not chunk:
                        return
            finally:
                if stream is not sys.stdin.buffer:
                    stream.close()
        except Exception as exc:  # OSError, EOFError (a truncated .gz), zlib.error, gzip.BadGzipFile
            self._put(exc)

    def _put(self, item: bytes | Exception) -> None:
        while not self.closing.is_set():
            try:
                self.queue.put(item, timeout=0.25)
                return
            except queue.Full:
                continue

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if not self.pending:
            if self.done:
                return 0
            while True:
                try:
                    item = self.queue.get(timeout=0.25)
                    break
                except queue.Empty:
                    if self.stop is not None and self.stop.requested:
                        raise InputStopped() from None
            if isinstance(item, Exception):
                self.done = True
                raise InputUnreadable(str(item) or type(item).__name__)
            if not item:
                self.done = True
                return 0
            self.pending = item
        view = memoryview(buffer)
        n = min(len(view), len(self.pending))
        view[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        self.closing.set()
        super().close()


def _opener(path: Path | str) -> Callable[[], _Stream]:
    if str(path) == STDIN:

        def open_stdin() -> _Stream:
            stream = cast(io.BufferedReader, sys.stdin.buffer)  # what Python gives it: peek() is there
            if stream.peek(2)[:2] == b"\x1f\x8b":  # gzip's magic: `cat x.csv.gz | ... -i -` works too
                return gzip.GzipFile(fileobj=stream, mode="rb")
            return stream

        return open_stdin
    if str(path).lower().endswith(".gz"):
        return lambda: gzip.open(path, "rb")
    return lambda: open(path, "rb")


class _Lines:
    """Physical lines (bytes, with their line ends) of the input, each at most ``limit`` bytes.

    It is also the line iterator the csv module reads a record from: it decodes each line,
    counts lines, keeps the raw bytes of the record being read, and raises _RowTooLong when the
    record grows past the limit, ending that record (csv starts afresh on its next call).
    """

    def __init__(self, stream: BinaryIO, limit: int, first: bytes = b""):
        self.stream, self.limit = stream, limit
        self.first = first
        self.line_no = 0
        self.begin()

    def begin(self) -> None:
        """The next line starts a record."""
        self.raw: list[bytes] = []
        self.size = 0
        self.bad_utf8: str | None = None

    def next_bytes(self) -> bytes:
        """The next line's bytes, b"" at the end; a line over the limit raises _RowTooLong."""
        if self.first:
            line, self.first = self.first, b""
        else:
            line = self.stream.readline(self.limit + 1)
        if not line:
            return b""
        self.line_no += 1
        self.raw.append(line)
        self.size += len(line)
        if self.size > self.limit:
            raise _RowTooLong(self._spill(line))
        return line

    def _spill(self, line: bytes) -> IO[bytes]:
        """The record so far and the rest of its last line, in a temporary file (never all in memory)."""
        spill = tempfile.TemporaryFile()
        spill.writelines(self.raw)
        while not line.endswith(b"\n"):
            line = self.stream.readline(_CHUNK)
            if not line:
                break
            spill.write(line)
        spill.seek(0)
        self.raw = []
        return spill

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.next_bytes()
        if not line:
            raise StopIteration
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.bad_utf8 is None:
                self.bad_utf8 = (
                    f"byte 0x{line[exc.start]:02x} at column {exc.start + 1} of line {self.line_no} is not valid UTF-8"
                )
            return line.decode("utf-8", "surrogateescape")

    def record_raw(self) -> bytes:
        return self.raw[0] if len(self.raw) == 1 else b"".join(self.raw)


class _RowTooLong(Exception):
    def __init__(self, raw: IO[bytes]):
        super().__init__("row too long")
        self.raw = raw


def _too_long(limit: int) -> str:
    return f"row is over {limit:,} bytes (an unclosed quote, or not a transaction)"


# --- the rows ----------------------------------------------------------------------------------


class Input:
    """One input read row by row: ``rows()`` yields an InputRow or an InputError for each.

    A transaction_id seen earlier in the input is an error: resending it would be counted once
    by the consumer anyway, and a duplicate in an input file is a data bug.
    """

    def __init__(
        self,
        path: Path | str,
        fmt: str | None = None,
        *,
        stop: StopRequest | None = None,
        max_row_bytes: int = MAX_ROW_BYTES,
        seen: SeenIds | None = None,
    ):
        self.path = path
        self.name = display_name(path)
        self.max_row_bytes = max_row_bytes
        self.seen = seen
        self.chunks = _Chunks(_opener(path), stop)
        self.stream = io.BufferedReader(self.chunks, buffer_size=1 << 16)
        self.header_raw: bytes | None = None  # the CSV header line as read, for the rejects file
        first = self._read_first_line()
        self.format = fmt or format_from_name(path) or format_from_first_line(first)
        self.lines = _Lines(self.stream, max_row_bytes, first)
        self.last_line = 0  # the last line of the last row yielded

    def _read_first_line(self) -> bytes:
        first = self.stream.readline(self.max_row_bytes + 1)
        return first[len(_BOM) :] if first.startswith(_BOM) else first

    def close(self) -> None:
        self.chunks.close()
        if self.seen is not None:
            self.seen.close()

    def __enter__(self) -> Input:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rows(self) -> Iterator[InputRow | InputError]:
        records = self._csv_records() if self.format == "csv" else self._jsonl_records()
        if self.seen is None:
            self.seen = SeenIds()  # closed with the input: it may hold a temporary directory
        seen = self.seen
        name = self.name
        for line_no, record, raw, problem in records:
            if isinstance(problem, InputError):
                yield problem
            elif problem is not None or record is None:
                yield InputError(name, line_no, None, problem or "unreadable row", raw)
            else:
                tx, field, message = make_transaction(*record)
                if tx is None:
                    yield InputError(name, line_no, field, message or "invalid", raw)
                else:
                    first = seen.first_line(tx.transaction_id, line_no)
                    if first is not None:
                        yield InputError(name, line_no, "transaction_id", f"duplicate of line {first}", raw)
                    else:
                        # Only a row too long to keep in memory has its bytes in a file, and it is never valid.
                        yield InputRow(line_no, tx, cast(bytes, raw))
            self.last_line = self.lines.line_no

    def _csv_records(self) -> Iterator[tuple[int, list[Any] | None, bytes | IO[bytes], str | InputError | None]]:
        lines = self.lines
        limit = self.max_row_bytes
        # csv's own cap is 131,072 characters a cell; ours is the row's size.
        csv.field_size_limit(max(csv.field_size_limit(), limit))
        reader = csv.reader(lines)
        header: list[str] | None = None
        columns: list[int] = []
        header_problem: HeaderError | None = None
        width = 0
        while True:
            lines.begin()
            start = lines.line_no + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except _RowTooLong as exc:
                yield start, None, exc.raw, _too_long(limit)
                continue
            except csv.Error as exc:
                yield start, None, lines.record_raw(), f"not readable as CSV: {exc}"
                continue
            raw = lines.record_raw()
            if header is None:
                if not cells:
                    continue  # blank lines before the header
                header = [c.strip() for c in cells]
                self.header_raw = raw
                width = len(header)
                header_problem = self._header_problem(header, start, raw)
                if header_problem is not None:
                    yield start, None, raw, header_problem
                columns = [header.index(f) if f in header else width for f in FIELDS]
                continue
            if not cells:
                continue  # a blank line is not a row
            if header_problem is not None:
                yield start, None, raw, f"not read: the header on line {header_problem.line} is unusable"
            elif lines.bad_utf8 is not None:
                yield start, None, raw, lines.bad_utf8
            elif len(cells) > width:
                yield start, None, raw, f"{len(cells)} cells, header has {width}"
            else:
                n = len(cells)
                yield start, [cells[i] if i < n else None for i in columns], raw, None

    def _header_problem(self, header: list[str], line: int, raw: bytes) -> HeaderError | None:
        missing = [f for f in FIELDS if f not in header]
        repeated = sorted({f for f in FIELDS if header.count(f) > 1})
        problem = None
        if self.lines.bad_utf8 is not None:
            problem = f"header: {self.lines.bad_utf8}"
        elif missing:
            problem = f"header lacks column(s) {', '.join(missing)}; expected {', '.join(FIELDS)}"
        elif repeated:
            problem = f"header repeats column(s) {', '.join(repeated)}: which one holds the value is unclear"
        return HeaderError(self.name, line, None, problem, raw) if problem else None

    def _jsonl_records(self) -> Iterator[tuple[int, list[Any] | None, bytes | IO[bytes], str | None]]:
        lines = self.lines
        limit = self.max_row_bytes
        decoder = json.JSONDecoder(parse_float=_JsonNumber, parse_int=_JsonNumber, object_pairs_hook=_object)
        while True:
            lines.begin()
            try:
                raw = lines.next_bytes()
            except _RowTooLong as exc:
                yield lines.line_no, None, exc.raw, _too_long(limit)
                continue
            if not raw:
                return
            line_no = lines.line_no
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield line_no, None, raw, f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not valid UTF-8"
                continue
            if not text.strip():
                continue
            try:
                record = decoder.decode(text)
            except json.JSONDecodeError as exc:
                yield line_no, None, raw, f"not valid JSON: {exc.msg} at column {exc.colno}"
                continue
            except _RepeatedKey as exc:
                yield line_no, None, raw, f"key {exc.args[0]!r} appears twice: which value holds is unclear"
                continue
            if not isinstance(record, dict):
                yield line_no, None, raw, f"expected a JSON object, got {_json_kind(record)}"
                continue
            get = record.get
            yield line_no, [get(f) for f in FIELDS], raw, None


class _RepeatedKey(Exception):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        counts: dict[str, int] = {}
        for key, _ in pairs:
            counts[key] = counts.get(key, 0) + 1
            if counts[key] > 1:
                raise _RepeatedKey(key)
    return record


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def read(path: Path | str, fmt: str | None = None, **options: Any) -> Iterator[InputRow | InputError]:
    """Yields each row of ``path`` as an InputRow or an InputError, in input order."""
    with Input(path, fmt, **options) as source:
        yield from source.rows()
