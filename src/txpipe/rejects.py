"""The rejects file (``--rejects FILE``): each rejected row as it was read, with its line and reason.

It is an input file of the same format, so the rows can be fixed and sent with ``-i FILE``:

- CSV: the header, then each rejected row, each led by two columns the producer ignores when the
  file is sent again: ``rejected_line,rejected_reason,<the row's bytes as read>``. The row's
  cells keep their places under the header's names.
- JSON Lines: each rejected line with ``"rejected_line"`` and ``"rejected_reason"`` put first
  inside its object, the rest of the line byte for byte; a line that is not an object becomes
  ``{"rejected_line": N, "rejected_reason": "...", "rejected_text": "<the line>"}``.

Line numbers are those of the original input. The file is written as rows are rejected, so a
stopped run leaves the rejections it had.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from txpipe.input_file import InputError

COLUMNS = b"rejected_line,rejected_reason,"


def _reason(error: InputError) -> str:
    return f"{error.field}: {error.message}" if error.field else error.message


def _csv_cell(text: str) -> bytes:
    return b'"' + text.replace('"', '""').encode("utf-8") + b'"'


class RejectsFile:
    """Appends rejected rows to ``path`` (created, or emptied, when opened)."""

    def __init__(self, path: Path, fmt: str):
        self.path = path
        self.format = fmt
        self.out: IO[bytes] = open(path, "wb")
        self.header_done = False
        self.count = 0

    def header(self, header_raw: bytes | None) -> None:
        """The CSV header, as read: written once, before the first row (or at close)."""
        if self.header_done or self.format != "csv" or header_raw is None:
            return
        self.out.write(COLUMNS + _ended(header_raw))
        self.header_done = True

    def write(self, error: InputError, header_raw: bytes | None = None) -> None:
        self.header(header_raw)
        raw = error.raw
        if not isinstance(raw, bytes):
            raw.seek(0)
        if self.format == "csv":
            self.out.write(str(error.line).encode() + b"," + _csv_cell(_reason(error)) + b",")
            self._copy(raw)
        else:
            self._jsonl(error, raw)
        self.count += 1

    def _copy(self, raw: bytes | IO[bytes], last: bytes = b"") -> None:
        """The row's bytes (or the rest of a spilled row's), ending with a line end."""
        if isinstance(raw, bytes):
            self.out.write(_ended(raw))
            return
        while chunk := raw.read(1 << 16):
            self.out.write(chunk)
            last = chunk
        if not last.endswith(b"\n"):
            self.out.write(b"\n")

    def _jsonl(self, error: InputError, raw: bytes | IO[bytes]) -> None:
        lead = b'{"rejected_line": ' + str(error.line).encode() + b', "rejected_reason": ' + json.dumps(_reason(error)).encode()
        head = raw if isinstance(raw, bytes) else raw.read(64)
        body = head.lstrip(b" \t")
        if body.startswith(b"{"):
            rest = body[1:]
            self.out.write(lead + (b"" if rest.lstrip(b" \t").startswith(b"}") else b", "))
            if isinstance(raw, bytes):
                self._copy(rest)
            else:
                self.out.write(rest)
                self._copy(raw, last=rest)
        else:
            text = raw if isinstance(raw, bytes) else head + raw.read()  # not an object: at most the row limit
            decoded = text.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
            self.out.write(lead + b', "rejected_text": ' + json.dumps(decoded).encode() + b"}\n")

    def close(self, header_raw: bytes | None = None) -> None:
        self.header(header_raw)
        self.out.close()


def _ended(raw: bytes) -> bytes:
    return raw if raw.endswith(b"\n") else raw + b"\n"
