"""Model registry: which versions exist, and loading each one once per instance.

A Lambda instance serves one request at a time, but the local server and batch
callers may race on a first load, so each version has its own lock. A version that
failed to load is not retried on every request (hashing and unpickling a bad artifact
is expensive); it is retried after ``retry_after_seconds`` so a fixed artifact heals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from serving.artifacts import ArtifactError, LoadedModel, Manifest, list_versions, load_model, read_manifest


@dataclass(frozen=True)
class _Failure:
    error: ArtifactError
    at: float


class ModelRegistry:
    def __init__(
        self,
        models_dir: Path,
        retry_after_seconds: float = 10.0,
        loader: Callable[[Path, str], LoadedModel] = load_model,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.models_dir = models_dir
        self._retry_after = retry_after_seconds
        self._loader = loader
        self._clock = clock
        self._loaded: dict[str, LoadedModel] = {}
        self._failures: dict[str, _Failure] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def available(self) -> list[str]:
        """Versions with a manifest on disk (not necessarily loadable)."""
        return list_versions(self.models_dir)

    def loaded_versions(self) -> list[str]:
        return sorted(self._loaded)

    def is_loaded(self, version: str) -> bool:
        return version in self._loaded

    def loaded(self, version: str) -> LoadedModel | None:
        return self._loaded.get(version)

    def last_failure(self, version: str) -> ArtifactError | None:
        """Why the latest load of ``version`` failed, while it is not loaded."""
        failure = self._failures.get(version)
        return failure.error if failure and version not in self._loaded else None

    def manifest(self, version: str) -> Manifest:
        loaded = self._loaded.get(version)
        return loaded.manifest if loaded else read_manifest(self.models_dir, version)

    def get(self, version: str) -> LoadedModel:
        """The loaded model for ``version``; raises ArtifactError if it cannot be served."""
        loaded = self._loaded.get(version)  # fast path: no lock once loaded
        if loaded is not None:
            return loaded
        with self._lock_for(version):
            loaded = self._loaded.get(version)
            if loaded is not None:
                return loaded
            failure = self._failures.get(version)
            if failure and self._clock() - failure.at < self._retry_after:
                raise failure.error
            try:
                loaded = self._loader(self.models_dir, version)
            except ArtifactError as error:
                self._failures[version] = _Failure(error, self._clock())
                raise
            self._failures.pop(version, None)
            self._loaded[version] = loaded
            return loaded

    def load_all(self) -> dict[str, ArtifactError]:
        """Load every available version; return the ones that failed (they stay unloaded)."""
        errors: dict[str, ArtifactError] = {}
        for version in self.available():
            try:
                self.get(version)
            except ArtifactError as error:
                errors[version] = error
        return errors

    def _lock_for(self, version: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(version, threading.Lock())
