"""The fault tests' line check itself: what it calls a repeat, what it calls missing."""

from types import SimpleNamespace

import pytest

from tests.faults.harness import Expected, check_lines

# ACC-0001's total comes back to 10.00 (a refund undoing a purchase), so the truth logs it twice.
EXPECTED = Expected(totals={"ACC-0001": "10.00"}, counts={"ACC-0001": 3}, sequences={"ACC-0001": ["10.00", "15.00", "10.00"]})


def instance(*totals: str) -> SimpleNamespace:
    return SimpleNamespace(lines=[f"(ACC-0001, {t})" for t in totals])


def test_a_total_the_truth_reaches_twice_is_no_repeat():
    report = check_lines([instance("10.00", "15.00", "10.00")], EXPECTED)
    assert (report.lines, report.repeated, report.per_instance_repeats) == (3, 0, [0])


def test_a_line_logged_again_after_a_restart_is_a_repeat_of_that_instance():
    report = check_lines([instance("10.00", "15.00"), instance("15.00", "10.00")], EXPECTED)
    assert (report.repeated, report.per_instance_repeats) == (1, [0, 1])
    report = check_lines([instance("10.00", "15.00", "10.00", "10.00")], EXPECTED)
    assert report.repeated == 1


def test_a_total_outside_the_sequence_or_never_logged_fails():
    with pytest.raises(AssertionError, match="not a running total"):
        check_lines([instance("10.00", "12.00", "15.00", "10.00")], EXPECTED)
    with pytest.raises(AssertionError, match="never logged"):
        check_lines([instance("10.00")], EXPECTED)
