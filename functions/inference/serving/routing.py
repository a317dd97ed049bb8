"""Which model version serves a request: explicit override, sticky canary, default, fallback.

Only the default version may make a request fail (503): any other version that is
missing or broken falls back to the default, and the answer says so.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Literal

from serving.artifacts import ArtifactError, LoadedModel
from serving.registry import ModelRegistry

Routing = Literal["explicit", "default", "canary", "fallback"]

# What a client is told about a version it cannot have; the full detail goes to the logs.
_PUBLIC_REASONS = {
    "missing": "is not available",
    "tampered": "failed integrity verification",
    "incompatible": "is incompatible with this runtime",
    "corrupt": "failed to load",
    "invalid": "is not a valid version name",
    "drifted": "no longer reproduces its recorded known answers",
}


class ModelUnavailable(Exception):
    """The default model cannot be served, so nothing can be."""

    def __init__(self, error: ArtifactError) -> None:
        super().__init__(f"default model {error.version} {_PUBLIC_REASONS[error.reason]}")
        self.error = error


@dataclass(frozen=True)
class Route:
    model: LoadedModel
    routing: Routing
    requested_version: str | None
    fallback_reason: str | None = None
    fallback_error: ArtifactError | None = None

    @property
    def version(self) -> str:
        return self.model.manifest.version

    @property
    def digest(self) -> str:
        return self.model.digest


def canary_bucket(client_key: str, canary_version: str) -> float:
    """A stable point in [0, 100) for this client; it is in the canary while bucket < percent.

    Hashing (not random draws) makes the choice sticky per client, and comparing one fixed
    point to the percent means raising the percent only ever moves clients onto the canary.
    """
    digest = hashlib.sha256(f"{canary_version}\x00{client_key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


class Router:
    def __init__(
        self,
        registry: ModelRegistry,
        default_version: str,
        canary_version: str | None = None,
        canary_percent: float = 0.0,
    ) -> None:
        self._registry = registry
        self.default_version = default_version
        self.canary_version = canary_version
        self.canary_percent = canary_percent

    def resolve(self, requested: str | None, client_key: str | None = None) -> Route:
        if requested is not None:
            return self._try(requested, "explicit", requested, f"requested version {requested}")
        if self._in_canary(client_key):
            assert self.canary_version is not None
            return self._try(self.canary_version, "canary", None, f"canary version {self.canary_version}")
        return Route(model=self._default(), routing="default", requested_version=None)

    def _in_canary(self, client_key: str | None) -> bool:
        if self.canary_version is None or self.canary_percent <= 0:
            return False
        key = client_key if client_key else uuid.uuid4().hex  # no client id: a fresh draw per request
        return canary_bucket(key, self.canary_version) < self.canary_percent

    def _try(self, version: str, routing: Routing, requested: str | None, what: str) -> Route:
        try:
            return Route(model=self._registry.get(version), routing=routing, requested_version=requested)
        except ArtifactError as error:
            reason = f"{what} {_PUBLIC_REASONS[error.reason]}; served default {self.default_version}"
            return Route(
                model=self._default(),
                routing="fallback",
                requested_version=requested,
                fallback_reason=reason,
                fallback_error=error,
            )

    def _default(self) -> LoadedModel:
        try:
            return self._registry.get(self.default_version)
        except ArtifactError as error:
            raise ModelUnavailable(error) from None
