"""Lambda's price of one million requests at a MemorySize: the arithmetic of `make tune`, with no measuring in it.

    cost per million = 1e6 x (ceil(duration ms) / 1000 s x MemorySize / 1024 GB x USD per GB-second)
                       + USD per million requests

A bill is the sum over requests, so the mean of the rounded-up durations is its exact basis (mean_billed_ms); one
representative duration (e.g. a p50) gives the price of a typical request.

Prices come from bench/prices.json (region, source and the date they were taken are in the file).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PRICES = Path(__file__).resolve().parent / "prices.json"
MILLION = 1_000_000
MB_PER_GB = 1024  # Lambda's GB-second: 512 MB is 0.5 GB


@dataclass(frozen=True)
class Prices:
    taken: str
    region: str
    source: str
    request_per_million: float  # USD
    gb_second: dict[str, float]  # architecture -> USD per GB-second

    @property
    def architectures(self) -> tuple[str, ...]:
        return tuple(self.gb_second)


def load_prices(path: Path = PRICES) -> Prices:
    raw = json.loads(path.read_text())
    return Prices(
        taken=raw["taken"],
        region=raw["region"],
        source=raw["source"],
        request_per_million=float(raw["request_usd_per_million"]),
        gb_second={arch: float(price) for arch, price in raw["gb_second_usd"].items()},
    )


def billed_ms(duration_ms: float) -> int:
    """Lambda bills duration rounded up to the next millisecond (so never less than 1 ms)."""
    if duration_ms < 0 or not math.isfinite(duration_ms):
        raise ValueError(f"not a duration: {duration_ms!r}")
    return max(1, math.ceil(duration_ms))


def gigabytes(memory_mb: int) -> float:
    return memory_mb / MB_PER_GB


def gb_seconds(duration_ms: float, memory_mb: int) -> float:
    """What one invocation is billed for: its billed duration in seconds times the memory in GB."""
    return billed_ms(duration_ms) / 1000 * gigabytes(memory_mb)


def cost_per_million(duration_ms: float, memory_mb: int, prices: Prices, architecture: str) -> float:
    """USD for a million invocations that each last ``duration_ms`` at ``memory_mb`` on ``architecture``."""
    return cost_per_million_billed(billed_ms(duration_ms), memory_mb, prices, architecture)


def mean_billed_ms(durations_ms: Iterable[float]) -> float:
    """The mean of the billed (rounded up) durations: what a bill is made of, tail included."""
    return statistics.fmean(billed_ms(duration) for duration in durations_ms)


def cost_per_million_billed(billed: float, memory_mb: int, prices: Prices, architecture: str) -> float:
    """As cost_per_million, from a duration already billed (rounded up, or a mean of rounded-up durations)."""
    duration = MILLION * billed / 1000 * gigabytes(memory_mb) * prices.gb_second[architecture]
    return duration + prices.request_per_million


def init_cost_per_million(
    init_ms: float, memory_mb: int, prices: Prices, architecture: str, cold_share: float
) -> float:
    """What billed cold starts add per million requests when ``cold_share`` of them start an execution environment
    (Lambda bills the INIT phase of on-demand functions on managed runtimes since 2025-08-01)."""
    return cold_share * MILLION * gb_seconds(init_ms, memory_mb) * prices.gb_second[architecture]
