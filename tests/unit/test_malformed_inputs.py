"""The table of malformed inputs (issue 20): for each, the rows rejected (line and field) and that every
other row was handed to Kafka, checked against the producer's own accounting and its rejects file.

Each case runs the producer's send path (txpipe.producer.send) with a stand-in for the Kafka client
that records what it is given; tests/integration/test_input_delivery.py sends the same kind of
inputs to the real local stack and reads them back.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException

from tests.support import wire_format
from txpipe import producer
from txpipe.schema import Transaction

HEADER = "transaction_id,account_number,transaction_reference,transaction_datetime,amount"
WHEN = "2026-01-31T12:00:00Z"
JSON_HEAD = '"account_number": "ACC-1", "transaction_reference": "r", "transaction_datetime": "2026-01-31T12:00:00Z"'


def row(tid: str, amount: str = "1.25", ref: str = "R", account: str = "ACC-1", when: str = WHEN) -> str:
    return f"{tid},{account},{ref},{when},{amount}"


def jrow(tid: str, amount: str = "1.25") -> str:
    return f'{{"transaction_id": "{tid}", {JSON_HEAD}, "amount": {amount}}}'


def csv_bytes(*rows: str, header: str = HEADER, end: str = "\n") -> bytes:
    return (end.join([header, *rows]) + end).encode("utf-8")


@dataclass
class Case:
    name: str
    data: bytes
    sent: list[str]  # transaction ids handed to Kafka, in order
    rejected: dict[int, str | None] = field(default_factory=dict)  # line -> field (None: the row as a whole)
    suffix: str = ".csv"
    message: str = ""  # a part of the first rejection's message
    header_error: str | None = None
    max_value_bytes: int | None = None  # the stand-in refuses larger records, as produce() does


def _utf8_case() -> Case:
    rows = [row(f"t{i}") for i in range(1, 101)]
    data = bytearray(csv_bytes(*rows))
    at = data.index(b"t10,")
    data[at + 2 : at + 2] = b"\xff"  # row 10, line 11: "t1\xff0"
    return Case(
        "invalid UTF-8 byte in row 10 of 100",
        bytes(data),
        [f"t{i}" for i in range(1, 101) if i != 10],
        {11: None},
        message="byte 0xff at column 3 of line 11 is not valid UTF-8",
    )


CASES = [
    Case(
        "amounts the double cannot carry exactly",
        csv_bytes(
            row("a", "1234567890123456.78"),
            row("b", "0.1000000000000000055511151231257827"),
            row("c", "10.50"),
            row("d", "1e3"),
            row("e", " 7.25 "),
            row("f", "1_000"),
            row("g", "NaN"),
            row("h", "1e-400"),
            row("i", "1e309"),
            row("j", "-0.00"),
            row("k", "9007199254740993"),
            row("l", "9007199254740992"),
        ),
        ["c", "d", "e", "l"],
        {2: "amount", 3: "amount", 7: "amount", 8: "amount", 9: "amount", 10: "amount", 11: "amount", 12: "amount"},
        message="'1234567890123456.78' cannot be carried exactly by the schema's double (it would arrive as 1234567890123456.8)",
    ),
    _utf8_case(),
    Case(
        "amounts with an exponent past what a decimal holds",
        csv_bytes(
            row("a", "1e-3000000000000000000"),
            row("b", "0e1000000000000000000"),
            row("c", "1e999999999999999999"),
            row("d", "-2.5E+3000000000000000000"),
            row("e", "2.50"),
        ),
        ["e"],
        {2: "amount", 3: "amount", 4: "amount", 5: "amount"},
        message="'1e-3000000000000000000' is out of range",
    ),
    Case(
        "JSON Lines amounts with an exponent past what a decimal holds",
        "\n".join(
            [
                jrow("a", "1e-3000000000000000000"),
                jrow("b", "-0e1000000000000000000"),
                jrow("c", '"1E+3000000000000000000"'),
                jrow("d", "2.50"),
            ]
        ).encode()
        + b"\n",
        ["d"],
        {1: "amount", 2: "amount", 3: "amount"},
        suffix=".jsonl",
        message="'1e-3000000000000000000' is out of range",
    ),
    Case(
        "JSON Lines integer amount of 400 digits",
        "\n".join([jrow("a", "9" * 400), jrow("b", "12"), jrow("c", "2" + "0" * 308)]).encode() + b"\n",
        ["b"],
        {1: "amount", 3: "amount"},
        suffix=".jsonl",
        message="beyond the range of the schema's double",
    ),
    Case(
        "a cell over csv's 131,072-character limit",
        csv_bytes(row("a", ref="R" * 140_000), row("b"), row("c")),
        ["b", "c"],
        {2: "transaction_reference"},
        message="140000 bytes, over the consumer's limit of 512",
    ),
    Case(
        "a huge cell in a column the producer ignores",
        csv_bytes(row("a") + ",M" + "m" * 200_000, row("b") + ",", header=HEADER + ",memo"),
        ["a", "b"],
    ),
    Case(
        "a row over the row limit (and the broker's message limit)",
        csv_bytes(row("a"), row("b", ref="R" * (2 << 20)), row("c")),
        ["a", "c"],
        {3: None},
        message="row is over 1,048,576 bytes",
    ),
    Case(
        "a JSON line over the row limit",
        (
            jrow("a") + '\n{"transaction_id": "b", "transaction_reference": "' + "R" * (2 << 20) + '"}\n' + jrow("c") + "\n"
        ).encode(),
        ["a", "c"],
        {2: None},
        suffix=".jsonl",
        message="row is over 1,048,576 bytes",
    ),
    Case("empty file", b"", []),
    Case("header only", csv_bytes(), []),
    Case("header only, no line end", HEADER.encode(), []),
    Case("byte-order mark", b"\xef\xbb\xbf" + csv_bytes(row("a"), row("b")), ["a", "b"]),
    Case("CRLF line ends", csv_bytes(row("a"), row("b", "x"), row("c"), end="\r\n"), ["a", "c"], {3: "amount"}),
    Case(
        "quoted newlines",
        csv_bytes(row("a", ref='"two\nlines"'), row("b", ref='"x, ""y"""'), row("c", "bad"), row("d")),
        ["a", "b", "d"],
        {5: "amount"},
    ),
    Case(
        "duplicate header column",
        csv_bytes(row("a"), row("b"), header=HEADER + ",amount"),
        [],
        {2: None, 3: None},
        header_error="header repeats column(s) amount",
    ),
    Case(
        "header missing a column",
        csv_bytes("a,ACC-1,R,1", header="transaction_id,account_number,transaction_reference,amount"),
        [],
        {2: None},
        header_error="header lacks column(s) transaction_datetime",
    ),
    Case("extra columns in the header are ignored", csv_bytes(row("a") + ",x,y", header=HEADER + ",memo,branch"), ["a"]),
    Case(
        "extra cells in a row",
        csv_bytes(row("a"), row("b") + ",surplus", row("c")),
        ["a", "c"],
        {3: None},
        message="6 cells, header has 5",
    ),
    Case("missing cells", csv_bytes(row("a"), "b,ACC-1,R", row("c")), ["a", "c"], {3: "transaction_datetime"}),
    Case(
        "columns in another order",
        csv_bytes(
            "5.5,R,a,2026-01-31T12:00:00Z,ACC-1",
            header="amount,transaction_reference,transaction_id,transaction_datetime,account_number",
        ),
        ["a"],
    ),
    Case("blank lines", csv_bytes("", row("a"), "", "", row("b"), ""), ["a", "b"]),
    Case(
        "duplicate id",
        csv_bytes(row("a"), row("b"), row("a", "2")),
        ["a", "b"],
        {4: "transaction_id"},
        message="duplicate of line 2",
    ),
    Case(
        "unclosed quote takes the rest of the file as one rejected row",
        csv_bytes(row("a"), 'b,ACC-1,"R', row("c"), row("d")),
        ["a"],
        {3: "transaction_datetime"},
    ),
    Case(
        "fields over the consumer's limits",
        csv_bytes(row("i" * 129), row("b", account="A" * 129), row("c")),
        ["c"],
        {2: "transaction_id", 3: "account_number"},
    ),
    Case(
        "bad timestamps",
        csv_bytes(row("a", when="yesterday"), row("b", when="2026-02-30T00:00:00Z"), row("c", when="2026-01-31 12:00")),
        ["c"],
        {2: "transaction_datetime", 3: "transaction_datetime"},
    ),
    Case(
        "JSON Lines oddities",
        "\n".join(
            [
                jrow("a"),
                "not json",
                '["a list"]',
                jrow("b").replace('"amount"', '"amount": 1, "amount"'),
                '{"transaction_id": "c\\ud800", ' + JSON_HEAD + ', "amount": 1}',
                jrow("d", "NaN"),
                '{"transaction_id": 7, ' + JSON_HEAD + ', "amount": 1}',
                jrow("e", '"2.50"'),
                "",
                jrow("f", "1.5e2"),
            ]
        ).encode()
        + b"\n",
        ["a", "e", "f"],
        {2: None, 3: None, 4: None, 5: None, 6: "amount", 7: "transaction_id"},
        suffix=".jsonl",
    ),
    Case(
        "JSON Lines with CRLF, a BOM and an invalid byte",
        b"\xef\xbb\xbf"
        + jrow("a").encode()
        + b"\r\n"
        + jrow("b").encode().replace(b'"b"', b'"b\xc3"')
        + b"\r\n"
        + jrow("c").encode(),
        ["a", "c"],
        {2: None},
        suffix=".jsonl",
    ),
    Case(
        "a record produce() refuses as too large",
        csv_bytes(row("a"), row("b", ref="R" * 300), row("c")),
        ["a", "c"],
        {3: None},
        message="cannot be sent: ",
        max_value_bytes=200,
    ),
]


class _Kafka:
    """Stands in for confluent_kafka.Producer: records each record it accepts."""

    def __init__(self, max_value_bytes: int | None = None):
        self.sent: list[bytes] = []
        self.max_value_bytes = max_value_bytes

    def produce(self, topic, value, key, on_delivery=None):
        if self.max_value_bytes is not None and len(value) > self.max_value_bytes:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "Message size too large"))
        self.sent.append(value)

    def poll(self, timeout=0):
        return 0


def _serializer():
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

    return ProtobufSerializer(
        Transaction, SchemaRegistryClient.new_client({"url": "mock://malformed"}), {"use.deprecated.format": False}
    )


def send_input(path: Path | str, *extra: str, max_value_bytes: int | None = None):
    """The producer's send path over ``path``: (stats, ids handed to Kafka, transactions)."""
    args = producer.parse_args(["-b", "127.0.0.1:1", "-s", "mock://x", "-t", "t", "-q", "-i", str(path), *extra])
    stats = producer.Stats()
    kafka = _Kafka(max_value_bytes)
    sender = producer.Sender(kafka, _serializer(), "t", stats, registry_wait=1)
    try:
        producer.send(args, stats, sender, producer._Stop(), None, [])
    finally:
        if sender.feed is not None:
            sender.feed.finish()
            sender.feed.source.close()
    stats.settle(0, "")
    txs = [Transaction.FromString(wire_format.parse(v).payload) for v in kafka.sent]
    return stats, [t.transaction_id for t in txs], txs


def _source_lines(data: bytes) -> list[bytes]:
    return io.BytesIO(data).readlines()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_input(case: Case, tmp_path, capsys):
    path = tmp_path / f"in{case.suffix}"
    path.write_bytes(case.data)
    rejects = tmp_path / f"rejects{case.suffix}"
    stats, sent, _ = send_input(path, "--rejects", str(rejects), max_value_bytes=case.max_value_bytes)
    err = capsys.readouterr().err

    assert sent == case.sent
    assert (stats.queued, stats.delivered, stats.failed, stats.rejected) == (
        len(case.sent),
        len(case.sent),
        0,
        len(case.rejected),
    )
    assert (stats.header_error is None) == (case.header_error is None)
    if case.header_error:
        assert case.header_error in stats.header_error and "every row is rejected" in err
    else:
        printed = [line for line in err.splitlines() if line.startswith("rejected ")]
        assert len(printed) == len(case.rejected)
        got = {}
        for line in printed:
            where, _, rest = line.removeprefix(f"rejected {path}:").partition(": ")
            fld = rest.split(":", 1)[0] if rest.split(":", 1)[0] in producer.input_file.FIELDS else None
            got[int(where)] = fld
        assert got == case.rejected
        if case.message:
            assert case.message in printed[0]
    assert producer.exit_code(stats, False) == (producer.EXIT_PARTIAL if case.rejected or case.header_error else producer.EXIT_OK)
    _check_rejects_file(case, rejects)


def _check_rejects_file(case: Case, rejects: Path) -> None:
    """The rejects file names each rejected line and holds its bytes as read, after two leading fields."""
    data = rejects.read_bytes()
    original = _source_lines(case.data)
    if case.suffix == ".csv":
        if not case.data.strip(b"\xef\xbb\xbf\r\n"):
            assert data == b""
            return
        lines = data.splitlines(keepends=True)
        assert lines[0] == b"rejected_line,rejected_reason," + original[0].removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n") + (
            b"\r\n" if original[0].endswith(b"\r\n") else b"\n"
        )
        limit = csv.field_size_limit(1 << 24)  # the over-long row is in there
        try:
            records = list(csv.reader(io.StringIO(data.decode("utf-8", "surrogateescape"), newline="")))[1:]
        finally:
            csv.field_size_limit(limit)
        assert [int(r[0]) for r in records] == sorted(case.rejected)
        for line_no in case.rejected:
            assert original[line_no - 1].rstrip(b"\r\n") in data
    else:
        records = data.splitlines()
        assert len(records) == len(case.rejected)
        for record, line_no in zip(records, sorted(case.rejected), strict=True):
            assert record.startswith(b'{"rejected_line": %d, "rejected_reason": ' % line_no)
            source = original[line_no - 1].rstrip(b"\r\n").removeprefix(b"\xef\xbb\xbf")
            if source.startswith(b"{"):  # the object's own bytes follow the two keys put first
                assert record.endswith(source[1:])
            else:
                text = json.loads(record.decode("utf-8", "surrogateescape"))["rejected_text"]
                assert text.encode("utf-8", "surrogateescape") == source


def test_fixed_rejects_are_sent_with_i(tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_bytes(csv_bytes(row("a"), row("b", "12,50"), row("c", "1234567890123456.78"), row("d")))
    rejects = tmp_path / "rejects.csv"
    stats, sent, _ = send_input(path, "--rejects", str(rejects))
    assert sent == ["a", "d"] and stats.rejected == 2
    # The user fixes the two amounts where the rejects file shows them, and sends just those.
    fixed = rejects.read_text().replace("12,50", "12.50").replace("1234567890123456.78", "1234567890123456.8")
    rejects.write_text(fixed)
    stats, sent, txs = send_input(rejects)
    assert sent == ["b", "c"] and stats.rejected == 0
    assert [t.amount for t in txs] == [12.5, 1234567890123456.8]


def test_jsonl_rejects_are_sendable_once_fixed(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join([jrow("a"), jrow("b", '"ten"'), jrow("c")]) + "\n")
    rejects = tmp_path / "rejects.jsonl"
    send_input(path, "--rejects", str(rejects))
    rejects.write_text(rejects.read_text().replace('"ten"', "10"))
    stats, sent, txs = send_input(rejects)
    assert sent == ["b"] and txs[0].amount == 10.0 and stats.rejected == 0


def test_gzip_file_and_gzip_on_stdin(tmp_path, monkeypatch, capsys):
    data = csv_bytes(row("a"), row("b", "x"), row("c"))
    path = tmp_path / "ledger.csv.gz"
    path.write_bytes(gzip.compress(data))
    stats, sent, _ = send_input(path)
    assert sent == ["a", "c"] and stats.rejected == 1
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(gzip.compress(data)))))
    stats, sent, _ = send_input("-")
    assert sent == ["a", "c"] and stats.rejected == 1


@pytest.mark.parametrize(
    "fmt,data",
    [
        (None, csv_bytes(row("a"), row("b"))),
        ("csv", csv_bytes(row("a"), row("b"))),
        (None, (jrow("a") + "\n" + jrow("b") + "\n").encode()),
        ("jsonl", (jrow("a") + "\n" + jrow("b")).encode()),
    ],
)
def test_stdin_with_format_given_or_detected(fmt, data, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    stats, sent, _ = send_input("-", *(["--format", fmt] if fmt else []))
    assert sent == ["a", "b"] and stats.rejected == 0


def test_a_truncated_gzip_sends_what_it_could_read_and_exits_1(tmp_path, capsys):
    rows = [row(f"t{i}") for i in range(5000)]
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(csv_bytes(*rows))[:-5000])
    stats, sent, _ = send_input(path)
    assert 0 < len(sent) < 5000 and sent == [f"t{i}" for i in range(len(sent))]
    assert stats.unreadable and "cannot be read after line" in stats.unreadable
    assert producer.exit_code(stats, False) == producer.EXIT_FAILED
    assert stats.last_line == len(sent) + 1  # every row up to there was sent


def test_many_rejections_print_a_hundred_and_count_all(tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_bytes(csv_bytes(*[row(f"t{i}", "x") for i in range(250)], row("ok")))
    stats, sent, _ = send_input(path)
    err = capsys.readouterr().err
    assert sent == ["ok"] and stats.rejected == 250
    assert sum(1 for line in err.splitlines() if line.startswith("rejected ")) == producer.PRINTED_REJECTIONS
    assert "... and 150 more rejected rows, not printed; --rejects FILE keeps them all" in err
