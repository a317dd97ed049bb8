"""Lambda's price of one million requests at a MemorySize: the arithmetic of `make tune`, with no measuring in it.

    cost per million = 1e6 x (ceil(duration ms) / 1000 s x MemorySize / 1024 GB x USD per GB-second)
                       + USD per million requests

Prices come from bench/prices.json (region, source and the date they were taken are in the file).
"""

from __future__ import annotations

import json
import math
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
    duration = MILLION * gb_seconds(duration_ms, memory_mb) * prices.gb_second[architecture]
    return duration + prices.request_per_million
