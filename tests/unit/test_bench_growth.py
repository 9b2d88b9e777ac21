"""How many times the benchmark repeats each growth run."""

from bench.run import SMALL_RUN, growth_reps, parse_args


def test_small_growth_runs_take_the_larger_count() -> None:
    assert growth_reps(10_000, 3, 7) == 7
    assert growth_reps(SMALL_RUN - 1, 3, 7) == 7


def test_large_growth_runs_keep_growth_reps() -> None:
    assert growth_reps(SMALL_RUN, 3, 7) == 3
    assert growth_reps(1_000_000, 3, 7) == 3


def test_growth_reps_above_the_small_count_win() -> None:
    assert growth_reps(10_000, 9, 7) == 9


def test_defaults_and_smoke() -> None:
    args = parse_args([])
    assert (args.growth_reps, args.growth_small_reps) == (3, 7)
    smoke = parse_args(["--smoke"])
    assert growth_reps(1000, smoke.growth_reps, smoke.growth_small_reps) == 1
