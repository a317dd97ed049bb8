"""The cost arithmetic of `make tune` (bench/costs.py): billing rounds, GB, request price; no timing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.costs import (
    PRICES,
    Prices,
    billed_ms,
    cost_per_million,
    cost_per_million_billed,
    gb_seconds,
    gigabytes,
    init_cost_per_million,
    load_prices,
    mean_billed_ms,
)

PRICES_FOR_TEST = Prices(
    taken="2026-11-30",
    region="us-east-1",
    source="test",
    request_per_million=0.20,
    gb_second={"x86_64": 0.0000166667, "arm64": 0.0000133334},
)


@pytest.mark.parametrize(
    ("duration_ms", "billed"),
    [(0.0, 1), (0.2, 1), (1.0, 1), (1.0001, 2), (2.5, 3), (99.0, 99), (100.01, 101)],
)
def test_duration_is_rounded_up_to_the_next_millisecond(duration_ms: float, billed: int) -> None:
    assert billed_ms(duration_ms) == billed


@pytest.mark.parametrize("duration_ms", [-1.0, float("nan"), float("inf")])
def test_a_duration_that_is_not_one_is_refused(duration_ms: float) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        billed_ms(duration_ms)


def test_gigabytes_are_megabytes_over_1024() -> None:
    assert gigabytes(1024) == 1.0
    assert gigabytes(512) == 0.5
    assert gigabytes(128) == 0.125
    assert gigabytes(1769) == pytest.approx(1.7275390625)


def test_gb_seconds_use_the_billed_duration() -> None:
    assert gb_seconds(2.1, 1024) == pytest.approx(0.003)  # 3 ms x 1 GB
    assert gb_seconds(99.5, 512) == pytest.approx(0.05)  # 100 ms x 0.5 GB


def test_cost_per_million_adds_the_request_price() -> None:
    # 1e6 x (3 ms -> 0.003 s x 1 GB x $0.0000166667) = $0.0500001, plus $0.20 for the requests
    assert cost_per_million(2.1, 1024, PRICES_FOR_TEST, "x86_64") == pytest.approx(0.2500001)
    # arm64: same duration, the lower GB-second price
    assert cost_per_million(2.1, 1024, PRICES_FOR_TEST, "arm64") == pytest.approx(0.2400002)


def test_a_request_never_costs_less_than_the_request_price_plus_one_ms() -> None:
    floor = 1e6 * 0.001 * 0.125 * 0.0000166667 + 0.20
    assert cost_per_million(0.01, 128, PRICES_FOR_TEST, "x86_64") == pytest.approx(floor)


def test_doubling_memory_at_the_same_duration_doubles_the_duration_part() -> None:
    small = cost_per_million(10, 512, PRICES_FOR_TEST, "x86_64") - 0.20
    large = cost_per_million(10, 1024, PRICES_FOR_TEST, "x86_64") - 0.20
    assert large == pytest.approx(2 * small)


def test_the_mean_billed_duration_rounds_each_request_up_before_averaging() -> None:
    assert mean_billed_ms([0.2, 1.5, 2.0]) == pytest.approx(5 / 3)  # 1 + 2 + 2 ms, not ceil(mean 1.23) = 2
    assert mean_billed_ms([3.0]) == 3.0
    with pytest.raises(ValueError, match="at least one"):  # statistics.StatisticsError: no requests, no mean
        mean_billed_ms([])


def test_cost_from_a_billed_duration_is_not_rounded_again() -> None:
    # 1.5 ms billed on average: 1e6 x 0.0015 s x 0.5 GB x $0.0000166667 + $0.20
    assert cost_per_million_billed(1.5, 512, PRICES_FOR_TEST, "x86_64") == pytest.approx(0.2125000125)
    assert cost_per_million_billed(3, 1024, PRICES_FOR_TEST, "x86_64") == cost_per_million(
        2.1, 1024, PRICES_FOR_TEST, "x86_64"
    )


def test_cold_starts_add_their_billed_init_times_their_share() -> None:
    # 1 % of a million = 10,000 inits of 600 ms at 1 GB: 6,000 GB-s x $0.0000166667
    assert init_cost_per_million(599.2, 1024, PRICES_FOR_TEST, "x86_64", 0.01) == pytest.approx(0.100_000_2)
    assert init_cost_per_million(599.2, 1024, PRICES_FOR_TEST, "x86_64", 0.0) == 0.0


def test_the_committed_price_file_names_its_date_region_source_and_both_architectures() -> None:
    raw = json.loads(Path(PRICES).read_text())
    prices = load_prices()
    assert prices.taken == raw["taken"] and len(prices.taken) == len("2026-11-30")
    assert prices.region == "us-east-1"
    assert prices.source.startswith("https://aws.amazon.com/lambda/pricing")
    assert set(prices.architectures) == {"x86_64", "arm64"}
    assert all(0 < price < 0.001 for price in prices.gb_second.values())
    assert prices.gb_second["arm64"] < prices.gb_second["x86_64"]
    assert prices.request_per_million > 0


def test_load_prices_reads_another_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    other = {"taken": "2030-01-01", "region": "eu-west-1", "source": "s", "request_usd_per_million": 0.25}
    path.write_text(json.dumps({**other, "gb_second_usd": {"x86_64": 0.00002}}))
    prices = load_prices(path)
    assert prices.request_per_million == 0.25
    assert cost_per_million(1000, 1024, prices, "x86_64") == pytest.approx(1e6 * 1 * 0.00002 + 0.25)
