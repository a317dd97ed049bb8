"""The inference service: route, then cache lookup, then predict the misses, then store.

The order matters: the cache key is built from the version that actually serves (after
fallback and canary), so an answer is only ever stored under the artifact that made it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from serving.artifacts import ArtifactError
from serving.cache import TieredCache, key_for
from serving.cache_entry import MAX_ENTRY_BYTES, decode_entry, encode_entry, text_digest
from serving.cache_policy import SharedTierGate
from serving.observability import traced
from serving.predictor import Prediction, normalise_text, predict
from serving.registry import ModelRegistry
from serving.results import ServedText, ServeResult, ShadowResult
from serving.routing import Route, Router

if TYPE_CHECKING:
    from serving.deadline import Budget


@dataclass
class InferenceService:
    registry: ModelRegistry
    router: Router
    cache: TieredCache
    gate: SharedTierGate  # CACHE_POLICY: whether a request consults the shared tier
    shadow_version: str | None = None

    def predict(self, texts: list[str], requested: str | None, client_key: str | None = None) -> ServeResult:
        route = self.router.resolve(requested, client_key)
        shared = self.cache.shared is not None and self.gate.use_shared(route.version)
        normalised = [normalise_text(text) for text in texts]
        hashes = [text_digest(text) for text in normalised]
        keys = [key_for(route.version, route.digest, text_hash) for text_hash in hashes]
        # One Redis allowance for the whole request: the read and the write share it, and a failed
        # read exhausts it, so the write is skipped instead of waiting a second time.
        budget = self.cache.budget() if shared else None
        cached, cache_available, rejected = self._lookup(route, keys, hashes, budget, shared)
        missing = [index for index, hit in enumerate(cached) if hit is None]
        computed = self._compute(route, [normalised[index] for index in missing])
        fresh = dict(zip(missing, computed, strict=True))
        fresh_entries = {keys[index]: (hashes[index], prediction) for index, prediction in fresh.items()}
        stored = self._store(route, fresh_entries, budget, shared)
        items = [
            ServedText(
                prediction=hit if hit is not None else fresh[index],
                cache="HIT" if hit is not None else ("MISS" if cache_available else "BYPASS"),
                chars=len(text),
            )
            for index, (hit, text) in enumerate(zip(cached, normalised, strict=True))
        ]
        shared_failed = shared and not (cache_available and stored)
        predictions = [item.prediction for item in items]
        return ServeResult(
            route=route,
            items=items,
            cache_error=shared_failed,
            shadow=self._shadow(route, normalised, predictions),
            cache_rejected=rejected,
            shared_skipped=self.cache.shared is not None and not shared,
        )

    @traced
    def _lookup(
        self, route: Route, keys: list[str], hashes: list[str], budget: Budget | None, shared: bool
    ) -> tuple[list[Prediction | None], bool, dict[str, int]]:
        """Valid cached answers (None for a miss), whether the cache answered, rejections by reason."""
        labels = route.model.manifest.labels
        rejected: Counter[str] = Counter()

        def validate(index: int, raw: bytes) -> Prediction | None:  # a value read from the shared tier
            hit, reason = decode_entry(raw, route.version, route.digest, hashes[index], labels)
            if reason is not None:
                rejected[reason] += 1
            return hit

        read = self.cache.get_many(keys, validate, budget, shared)
        return read.values, read.available, dict(rejected)

    @traced
    def _compute(self, route: Route, texts: list[str]) -> list[Prediction]:
        if not texts:
            return []
        started = time.perf_counter()
        predictions = predict(route.model, texts)
        self.gate.record_predict(route.version, time.perf_counter() - started, len(texts))
        return predictions

    @traced
    def _store(
        self, route: Route, fresh: dict[str, tuple[str, Prediction]], budget: Budget | None, shared: bool
    ) -> bool:
        if not fresh:
            return True
        predictions = {key: prediction for key, (_, prediction) in fresh.items()}
        if not shared:
            return self.cache.set_many(predictions, {}, budget, use_shared=False)
        encoded = {}
        for key, (text_hash, prediction) in fresh.items():
            value = encode_entry(route.version, route.digest, text_hash, prediction)
            if len(value) <= MAX_ENTRY_BYTES:  # else it could never be read back (thousands of labels): not cached
                encoded[key] = value
        return self.cache.set_many(predictions, encoded, budget)

    def _shadow(self, route: Route, texts: list[str], primary: list[Prediction]) -> ShadowResult | None:
        """Run the shadow model for comparison only; nothing it does reaches the answer."""
        version = self.shadow_version
        if version is None or version == route.version:
            return None
        try:
            shadow = predict(self.registry.get(version), texts)
        except ArtifactError as error:
            return ShadowResult(version, 0, len(texts), error=error.reason)
        except Exception as error:  # a shadow must never break the primary answer
            return ShadowResult(version, 0, len(texts), error=type(error).__name__)
        agreed = sum(s.label == p.label for s, p in zip(shadow, primary, strict=True))
        return ShadowResult(version, agreed, len(texts))

    def models(self) -> dict[str, Any]:
        return {
            "default_version": self.router.default_version,
            "canary": {"version": self.router.canary_version, "percent": self.router.canary_percent},
            "shadow_version": self.shadow_version,
            "loaded_versions": self.registry.loaded_versions(),
            "models": [self._model_summary(version) for version in self.registry.available()],
        }

    def _model_summary(self, version: str) -> dict[str, Any]:
        try:
            manifest = self.registry.manifest(version)
        except ArtifactError as error:
            return {"version": version, "status": error.reason, "loaded": False}
        loaded = self.registry.loaded(version)
        failure = self.registry.last_failure(version)
        metrics = manifest.metrics  # None for a registered version: it has no held-out data
        # The runtime that serves (once loaded), else the one the manifest prefers.
        artifact = loaded.artifact if loaded else manifest.artifact
        return {
            "version": version,
            # Verification state: loaded (verified), its last load failed (and why), or not tried yet here.
            "status": "available" if loaded else (f"failed: {failure.reason}" if failure else "unverified"),
            "loaded": loaded is not None,
            "default": version == self.router.default_version,
            "runtime": artifact.format,
            "formats": [ref.format for ref in manifest.artifacts],
            # A preferred artifact that could not serve (e.g. a tampered fast file), by its reason.
            "skipped": [{"reason": e.reason} for e in loaded.skipped] if loaded else [],
            "created": manifest.created,
            "sha256": artifact.sha256,
            "size_bytes": artifact.size_bytes,
            "labels": list(manifest.labels),
            "cache": self.gate.describe(version),  # CACHE_POLICY for this version, and what it decides now
            "metrics": {
                "accuracy": metrics.accuracy if metrics is not None else None,
                "macro_f1": metrics.macro_f1 if metrics is not None else None,
            },
        }

    def manifest(self, version: str) -> dict[str, Any]:
        return self.registry.manifest(version).document()

    def health(self) -> dict[str, Any]:
        default = self.router.default_version
        try:
            self.registry.get(default)
            model = {"version": default, "status": "ok"}
        except ArtifactError as error:
            model = {"version": default, "status": error.reason}
        cache = self.cache.status()
        if model["status"] != "ok":
            status = "unhealthy"
        elif cache["status"] == "degraded":
            status = "degraded"
        else:
            status = "ok"
        return {
            "status": status,
            "default_model": model,
            "loaded_versions": self.registry.loaded_versions(),
            "cache": cache,
        }
