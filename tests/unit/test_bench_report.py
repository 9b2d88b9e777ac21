"""The benchmark report's targets: each is judged on the unrounded value and shown so the reader sees why."""

from bench.report import shown_value, targets


def latency_results(ours_p99: float, tool_p99: float) -> dict:
    return {"latency": {"rates": {"10000": {"ours": {"p99_ms": ours_p99}}}, "end_to_end_latency": {"p99_ms": tool_p99}}}


def latency_target(r: dict) -> dict:
    (t,) = [t for t in targets(r) if t["target"].startswith("e2e p99")]
    return t


def test_a_p99_just_over_the_limit_is_missed_and_shown_with_its_tenths() -> None:
    t = latency_target(latency_results(14.4, 4.0))
    assert t["goal"] == "<= EndToEndLatency p99 + 10 = 14"
    assert t["met"] is False
    assert shown_value(t) == "14.4"


def test_a_p99_at_the_limit_is_met() -> None:
    t = latency_target(latency_results(14.0, 4.0))
    assert t["met"] is True
    assert shown_value(t) == "14.0"


def test_changes_are_percentages_and_ratios_keep_two_decimals() -> None:
    assert shown_value({"target": "consumer RSS 10,000 -> 1,000,000 tx (change)", "value": 0.163}) == "+16%"
    assert shown_value({"target": "producer records/s vs ProducerPerformance", "value": 0.7612}) == "0.76"
    assert shown_value({"target": "producer peak RSS (MiB)", "value": 68.6}) == "69"
    assert shown_value({"target": "consumer peak RSS (MiB)", "value": None}) == "n/a"


def growth_results(producer_us: tuple[float, float], running_us: tuple[float, float]) -> dict:
    rows = [
        {
            "transactions": n,
            "accounts": 20,
            "producer_steady_us_per_tx": p,
            "consumer_running_us_per_tx": c,
            "consumer_peak_rss_mib": 330.0,
        }
        for n, p, c in ((10_000, producer_us[0], running_us[0]), (1_000_000, producer_us[1], running_us[1]))
    ]
    return {"params": {"accounts": 20}, "growth": {"rows": rows}}


def flatness(r: dict) -> dict[str, bool]:
    return {
        t["target"].split(" ")[0] + (" kept" if "kept" in t["target"] else ""): t["met"]
        for t in targets(r)
        if "time/tx" in t["target"]
    }


def test_flatness_is_one_sided_a_cost_that_falls_with_size_is_met() -> None:
    assert flatness(growth_results((8.0, 5.5), (19.4, 15.2))) == {"producer": True, "consumer kept": True}


def test_flatness_misses_a_cost_that_grows_by_more_than_a_fifth() -> None:
    assert flatness(growth_results((5.0, 6.1), (15.0, 18.1))) == {"producer": False, "consumer kept": False}
    assert flatness(growth_results((5.0, 6.0), (15.0, 18.0))) == {"producer": True, "consumer kept": True}
