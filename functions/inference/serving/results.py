"""What the service returns for a request: plain facts that the API and observability read.

Its own module so that ``serving.observability`` (imported by ``serving.service`` for tracing)
can take a ``ServeResult`` without importing the service back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from serving.predictor import Prediction
from serving.routing import Route

CacheStatus = Literal["HIT", "MISS", "BYPASS"]


@dataclass(frozen=True)
class ShadowResult:
    version: str
    agreed: int  # how many of the texts got the same label from the shadow
    total: int
    error: str | None = None


@dataclass(frozen=True)
class ServedText:
    prediction: Prediction
    cache: CacheStatus
    chars: int


@dataclass(frozen=True)
class ServeResult:
    route: Route
    items: list[ServedText]
    cache_error: bool
    shadow: ShadowResult | None
    # Cached values refused on read (invalid, foreign, poisoned), by reason: served as misses and overwritten.
    cache_rejected: dict[str, int] = field(default_factory=dict)
    # True when CACHE_POLICY kept this request off the shared tier (nothing failed: it was not asked).
    shared_skipped: bool = False

    @property
    def cache_summary(self) -> str:
        """The one cache outcome of every text, or MIXED (a batch with hits and misses)."""
        statuses = {item.cache for item in self.items}
        return statuses.pop() if len(statuses) == 1 else "MIXED"
