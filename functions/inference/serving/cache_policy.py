"""Whether a request consults the shared (Redis) tier: a policy per model version (``CACHE_POLICY``).

- ``always`` (the default): every request reads Redis and writes its misses there, the seed's behaviour.
- ``never``: that version uses the in-process tier only.
- ``auto``: skip Redis while this instance's measured predict time per text for the version is below
  its measured Redis round trip (one single-key command). A lookup cannot save more than the predict
  it avoids, so for a model faster than a round trip the shared tier only adds latency. Until both
  figures exist, and on every ``PROBE_EVERY``-th request of the version, Redis is used, so both stay
  current (a slower model version, or a faster Redis, turns it back on).

The in-process tier applies under every policy: it costs well under a round trip.
``CACHE_POLICY`` is one policy for every version (``auto``), per version (``v1=auto,v3=always``), or
both (``never,v3=always``: a bare word sets the default).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from serving.artifacts import is_valid_version

Policy = Literal["always", "auto", "never"]
POLICIES: tuple[Policy, ...] = ("always", "auto", "never")
PROBE_EVERY = 100
_WEIGHT = 0.1  # of each new sample in a running mean: about the last 20 samples count


class RunningMean:
    """An exponentially weighted mean; ``None`` until the first sample."""

    def __init__(self) -> None:
        self.value: float | None = None

    def add(self, sample: float) -> None:
        self.value = sample if self.value is None else self.value + _WEIGHT * (sample - self.value)


@dataclass(frozen=True)
class CachePolicies:
    default: Policy = "always"
    per_version: Mapping[str, Policy] = field(default_factory=dict)

    def policy(self, version: str) -> Policy:
        return self.per_version.get(version, self.default)


def parse_policies(raw: str) -> CachePolicies:
    """``CACHE_POLICY``'s value; ValueError naming the part that is wrong."""
    default: Policy = "always"
    per_version: dict[str, Policy] = {}
    for part in (piece.strip() for piece in raw.split(",")):
        if not part:
            continue
        version, sep, name = (piece.strip() for piece in part.partition("="))
        if not sep:
            version, name = "", version
        if name not in POLICIES or (sep and not is_valid_version(version)):
            raise ValueError(part)
        if version:
            per_version[version] = name
        else:
            default = name
    return CachePolicies(default, per_version)


class SharedTierGate:
    """Decides per request whether the shared tier is consulted, from the policy and measured costs."""

    def __init__(self, policies: CachePolicies, round_trip: RunningMean | None) -> None:
        self.policies = policies
        self._round_trip = round_trip  # the shared tier's own measurement; None without a shared tier
        self._predict_per_text: dict[str, RunningMean] = {}
        self._requests: dict[str, int] = {}
        self._lock = threading.Lock()

    def use_shared(self, version: str) -> bool:
        policy = self.policies.policy(version)
        if policy != "auto":
            return policy == "always"
        with self._lock:
            count = self._requests.get(version, 0) + 1
            self._requests[version] = count
        return count % PROBE_EVERY == 0 or not self._predict_is_cheaper(version)

    def record_predict(self, version: str, seconds: float, texts: int) -> None:
        if texts:
            with self._lock:
                self._predict_per_text.setdefault(version, RunningMean()).add(seconds / texts)

    def describe(self, version: str) -> dict[str, object]:
        """For /models: the policy, what it decides now, and the figures it decides from."""
        policy = self.policies.policy(version)
        predict = self._predict_per_text.get(version)
        if self._round_trip is None:
            decision = "none"  # no shared tier configured (REDIS_URL empty)
        elif policy == "never" or (policy == "auto" and self._predict_is_cheaper(version)):
            decision = "skipped"
        else:
            decision = "used"
        return {
            "policy": policy,
            "shared_tier": decision,
            "predict_ms_per_text": _ms(predict.value if predict else None),
            "round_trip_ms": _ms(self._round_trip.value if self._round_trip else None),
        }

    def _predict_is_cheaper(self, version: str) -> bool:
        mean = self._predict_per_text.get(version)
        predict = mean.value if mean else None
        round_trip = self._round_trip.value if self._round_trip else None
        return predict is not None and round_trip is not None and predict < round_trip


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 4)
