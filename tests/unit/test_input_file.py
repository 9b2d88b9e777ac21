from pathlib import Path

import pytest

from txpipe.input_file import HeaderError, InputError, InputRow, detect_format, read

HEADER = "transaction_id,account_number,transaction_reference,transaction_datetime,amount\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _split(items):
    rows = [i for i in items if isinstance(i, InputRow)]
    errors = [i for i in items if isinstance(i, InputError)]
    return rows, errors


def test_csv_valid_rows(tmp_path):
    path = _write(tmp_path, "in.csv", HEADER + "t1,ACC-1,R1,2026-01-31T12:00:00Z,10.5\nt2,ACC-2,,2026-01-31T12:00:01+02:00,-3\n")
    rows, errors = _split(list(read(path)))
    assert errors == []
    assert [r.line for r in rows] == [2, 3]
    assert rows[0].transaction.amount == 10.5
    assert rows[0].transaction.transaction_datetime.ToJsonString() == "2026-01-31T12:00:00Z"
    assert rows[1].transaction.transaction_datetime.ToJsonString() == "2026-01-31T10:00:01Z"


def test_csv_bad_rows_name_file_line_and_field_and_valid_rows_survive(tmp_path):
    text = (
        HEADER
        + "\n".join(
            [
                "ok1,ACC-1,R,2026-01-01T00:00:00Z,1.00",  # line 2
                "bad-amount,ACC-1,R,2026-01-01T00:00:00Z,ten",  # 3
                "nan,ACC-1,R,2026-01-01T00:00:00Z,NaN",  # 4
                "inf,ACC-1,R,2026-01-01T00:00:00Z,inf",  # 5
                "bad-ts,ACC-1,R,yesterday,1",  # 6
                "empty-acc,,R,2026-01-01T00:00:00Z,1",  # 7
                "ok1,ACC-2,R,2026-01-01T00:00:00Z,2",  # 8: duplicate id
                "short,ACC-1,R,2026-01-01T00:00:00Z",  # 9: missing cell
                "ok2,ACC-3,R,2026-01-01T00:00:00Z,3.25",  # 10
            ]
        )
        + "\n"
    )
    path = _write(tmp_path, "in.csv", text)
    rows, errors = _split(list(read(path)))
    assert [r.transaction.transaction_id for r in rows] == ["ok1", "ok2"]
    got = {(e.line, e.field) for e in errors}
    assert got == {
        (3, "amount"),
        (4, "amount"),
        (5, "amount"),
        (6, "transaction_datetime"),
        (7, "account_number"),
        (8, "transaction_id"),
        (9, "amount"),
    }
    message = str(next(e for e in errors if e.line == 8))
    assert message.startswith(f"{path}:8: transaction_id: duplicate of line 2")


def test_csv_header_missing_a_column_is_one_clear_error_and_each_row_is_rejected(tmp_path):
    path = _write(tmp_path, "in.csv", "transaction_id,account_number,amount\nt,A,1\nu,B,2\n")
    rows, errors = _split(list(read(path)))
    assert rows == []
    assert isinstance(errors[0], HeaderError) and "transaction_datetime" in errors[0].message and errors[0].line == 1
    assert [(e.line, e.message) for e in errors[1:]] == [(n, "not read: the header on line 1 is unusable") for n in (2, 3)]


def test_jsonl_rows_and_errors(tmp_path):
    lines = [
        '{"transaction_id": "j1", "account_number": "A", "transaction_reference": "r", '
        '"transaction_datetime": "2026-01-01T00:00:00", "amount": 5}',
        "not json",
        '["a list"]',
        '{"transaction_id": "j2", "account_number": "A", "transaction_reference": "r", '
        '"transaction_datetime": "2026-01-01T00:00:00Z"}',
        '{"transaction_id": "j3", "account_number": 7, "transaction_reference": "r", '
        '"transaction_datetime": "2026-01-01T00:00:00Z", "amount": 1}',
        "",
        '{"transaction_id": "j4", "account_number": "B", "transaction_reference": "r", '
        '"transaction_datetime": "2026-01-01T00:00:00Z", "amount": "0.10"}',
    ]
    path = _write(tmp_path, "in.jsonl", "\n".join(lines) + "\n")
    rows, errors = _split(list(read(path)))
    assert [r.transaction.transaction_id for r in rows] == ["j1", "j4"]
    assert rows[1].transaction.amount == 0.1
    assert [(e.line, e.field) for e in errors] == [(2, None), (3, None), (4, "amount"), (5, "account_number")]
    assert "not valid JSON" in errors[0].message


def test_format_from_suffix(tmp_path):
    assert detect_format(Path("a.CSV")) == "csv"
    assert detect_format(Path("a.ndjson")) == "jsonl"
    with pytest.raises(ValueError, match="suffix"):
        detect_format(Path("a.txt"))
