"""Reading transactions from a CSV or JSON Lines file, with an error per bad row.

A bad row never stops the file: it yields an ``InputError`` naming file, line and
field, and every valid row is still sent.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from txpipe.schema import Transaction

FIELDS = ("transaction_id", "account_number", "transaction_reference", "transaction_datetime", "amount")
FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class InputError:
    """One rejected row."""

    path: str
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(frozen=True)
class InputRow:
    """One valid row and the line it came from."""

    line: int
    transaction: Transaction


def detect_format(path: Path) -> str:
    """csv or jsonl, from the file name."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ValueError(f"{path}: cannot tell the format from the suffix {suffix!r}; use .csv or .jsonl")


def parse_datetime(text: Any) -> datetime:
    """ISO 8601 text; a value without a zone is taken as UTC."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time such as 2026-01-31T12:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def parse_amount(value: Any) -> float:
    """A finite number; text is accepted when it parses as one."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        amount = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            amount = float(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise ValueError(f"{value!r} is not a number")
    if not math.isfinite(amount):
        raise ValueError(f"{value!r} is not a finite amount")
    return amount


def to_transaction(record: dict[str, Any]) -> tuple[Transaction | None, str | None, str | None]:
    """Validates one record; returns (transaction, None, None) or (None, field, message)."""
    for field in FIELDS:
        if field not in record or record[field] is None:
            return None, field, "missing"
    for field in ("transaction_id", "account_number", "transaction_reference"):
        if not isinstance(record[field], str):
            return None, field, f"expected text, got {type(record[field]).__name__}"
    for field in ("transaction_id", "account_number"):
        if not record[field].strip():
            return None, field, "empty"
    try:
        amount = parse_amount(record["amount"])
    except ValueError as exc:
        return None, "amount", str(exc)
    try:
        when = parse_datetime(record["transaction_datetime"])
    except ValueError as exc:
        return None, "transaction_datetime", str(exc)
    tx = Transaction(
        transaction_id=record["transaction_id"].strip(),
        account_number=record["account_number"].strip(),
        transaction_reference=record["transaction_reference"],
        amount=amount,
    )
    tx.transaction_datetime.FromDatetime(when.astimezone(timezone.utc))
    return tx, None, None


def _csv_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [f for f in FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            yield 1, None, f"header lacks column(s) {', '.join(missing)}; expected {', '.join(FIELDS)}"
            return
        for row in reader:
            if None in row:  # more cells than header columns
                yield reader.line_num, None, f"{len(row) - 1 + len(row[None])} cells, header has {len(FIELDS)}"
                continue
            yield reader.line_num, row, None


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_no, None, f"not valid JSON: {exc.msg} at column {exc.colno}"
                continue
            if not isinstance(record, dict):
                yield line_no, None, f"expected a JSON object, got {type(record).__name__}"
                continue
            yield line_no, record, None


def read(path: Path, fmt: str | None = None) -> Iterator[InputRow | InputError]:
    """Yields each row as an InputRow or an InputError, in file order.

    A transaction_id seen earlier in the file is an error: resending it would be
    counted once by the consumer anyway, and a duplicate in an input file is a data bug.
    """
    fmt = fmt or detect_format(path)
    records = _csv_records(path) if fmt == "csv" else _jsonl_records(path)
    seen: dict[str, int] = {}
    for line_no, record, problem in records:
        if problem is not None or record is None:
            yield InputError(str(path), line_no, None, problem or "unreadable row")
            continue
        tx, field, message = to_transaction(record)
        if tx is None:
            yield InputError(str(path), line_no, field, message or "invalid")
            continue
        first = seen.get(tx.transaction_id)
        if first is not None:
            yield InputError(str(path), line_no, "transaction_id", f"duplicate of line {first}")
            continue
        seen[tx.transaction_id] = line_no
        yield InputRow(line_no, tx)
