"""Issue 20's defects, each as the user met it: every input row is sent or rejected with its place."""

from __future__ import annotations

from decimal import Decimal

from txpipe.input_file import InputError, InputRow, read
from txpipe.totals import RunningTotals, format_total

HEADER = "transaction_id,account_number,transaction_reference,transaction_datetime,amount\n"
WHEN = "2026-01-31T12:00:00Z"


def _rows(n: int, first: int = 1) -> list[str]:
    return [f"t{i},ACC-{i % 3},R{i},{WHEN},{i}.25\n" for i in range(first, first + n)]


def _split(items):
    return ([i for i in items if isinstance(i, InputRow)], [i for i in items if isinstance(i, InputError)])


def test_an_amount_the_double_cannot_carry_is_rejected_with_what_it_would_become(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(
        HEADER + f"a,ACC,R,{WHEN},1234567890123456.78\nb,ACC,R,{WHEN},0.1000000000000000055511151231257827\n"
        f"c,ACC,R,{WHEN},10.50\n"
    )
    rows, errors = _split(list(read(path)))
    assert [r.transaction.transaction_id for r in rows] == ["c"]
    assert str(errors[0]) == (
        f"{path}:2: amount: '1234567890123456.78' cannot be carried exactly by the schema's double "
        "(it would arrive as 1234567890123456.8)"
    )
    assert (errors[1].line, errors[1].field) == (3, "amount")


def test_an_invalid_utf8_byte_rejects_its_row_only(tmp_path):
    lines = [HEADER.encode()] + [r.encode() for r in _rows(100)]
    lines[10] = lines[10].replace(b"R10", b"R\xff10")  # row 10 is line 11
    path = tmp_path / "in.csv"
    path.write_bytes(b"".join(lines))
    rows, errors = _split(list(read(path)))
    assert len(rows) == 99
    assert [(e.line, e.field) for e in errors] == [(11, None)]
    assert "UTF-8" in errors[0].message


def test_a_jsonl_integer_amount_beyond_the_double_is_rejected(tmp_path):
    path = tmp_path / "in.jsonl"
    big = "9" * 400
    path.write_text(
        f'{{"transaction_id": "a", "account_number": "A", "transaction_reference": "", '
        f'"transaction_datetime": "{WHEN}", "amount": {big}}}\n'
        f'{{"transaction_id": "b", "account_number": "A", "transaction_reference": "", '
        f'"transaction_datetime": "{WHEN}", "amount": 12}}\n'
    )
    rows, errors = _split(list(read(path)))
    assert [r.transaction.transaction_id for r in rows] == ["b"]
    assert [(e.line, e.field) for e in errors] == [(1, "amount")]


def test_a_huge_csv_cell_rejects_its_row_only(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(HEADER + f"a,ACC,{'R' * 140_000},{WHEN},1\n" + "".join(_rows(2)))
    rows, errors = _split(list(read(path)))
    assert [r.transaction.transaction_id for r in rows] == ["t1", "t2"]
    assert [(e.line, e.field) for e in errors] == [(2, "transaction_reference")]


def test_ground_truth_adds_exactly_whatever_the_magnitudes():
    totals = RunningTotals()
    totals.add("A", 1e300)
    totals.add("A", 0.01)
    assert totals.totals["A"] == Decimal("1" + "0" * 300 + ".01")  # exact, not rounded to 28 digits
    assert format_total(totals.totals["A"]) == "1" + "0" * 300 + ".01"
    totals.add("B", 1e22)
    totals.add("B", 1e-7)
    assert totals.formatted()["B"] == "10000000000000000000000.0000001"
