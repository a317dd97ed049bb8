"""Response cache: an in-process LRU in front of an optional shared Redis.

Keys are built AFTER version resolution from the served version, the artifact digest
and a hash of the normalised text, so an answer can only ever be found again by a
request that the same artifact serves. Values are self-describing JSON and are
checked on read: anything that does not parse or names another version is a miss.

Redis is an optimisation, never a dependency: every Redis error or timeout is
absorbed (the caller sees ``available=False`` and answers ``cache: BYPASS``), and a
circuit breaker stops paying the timeout on every request during an outage.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cachetools import TTLCache

from serving.breaker import CircuitBreaker
from serving.predictor import Prediction

if TYPE_CHECKING:
    from serving.redis_credentials import SecretsManagerCredentials

KEY_PREFIX = "pred"
ENTRY_FORMAT = 1


def cache_key(version: str, digest: str, normalised_text: str) -> str:
    # surrogatepass: JSON may carry lone surrogates; they must hash, not crash.
    text_hash = hashlib.sha256(normalised_text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{KEY_PREFIX}:{version}:{digest}:{text_hash}"


def encode_entry(version: str, digest: str, prediction: Prediction) -> bytes:
    entry = {
        "format": ENTRY_FORMAT,
        "model_version": version,
        "digest": digest,
        "label": prediction.label,
        "scores": prediction.scores,
    }
    return json.dumps(entry, separators=(",", ":")).encode()


def decode_entry(raw: bytes | None, version: str, digest: str) -> Prediction | None:
    """The cached prediction, or None if absent, unparseable or from another artifact."""
    if raw is None:
        return None
    try:
        entry = json.loads(raw)
        if entry["format"] != ENTRY_FORMAT or entry["model_version"] != version or entry["digest"] != digest:
            return None
        scores = {str(label): float(score) for label, score in entry["scores"].items()}
        label = str(entry["label"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if label not in scores:
        return None
    return Prediction(label=label, scores=scores)


@dataclass(frozen=True)
class CacheRead:
    values: list[bytes | None]
    # False when the shared tier could not be asked: a None value then means "unknown", not "absent".
    available: bool


class CacheBackend(Protocol):
    def get_many(self, keys: list[str]) -> CacheRead: ...
    def set_many(self, items: dict[str, bytes]) -> bool: ...
    def status(self) -> dict[str, Any]: ...


class LocalCache:
    """Bounded LRU with the same TTL as the shared tier; lives as long as the instance."""

    def __init__(self, entries: int, ttl_seconds: int) -> None:
        self._entries = entries
        self._store: TTLCache[str, bytes] | None = TTLCache(entries, ttl_seconds) if entries else None
        self._lock = threading.Lock()

    def get_many(self, keys: list[str]) -> CacheRead:
        if self._store is None:
            return CacheRead([None] * len(keys), available=False)
        with self._lock:
            return CacheRead([self._store.get(key) for key in keys], available=True)

    def set_many(self, items: dict[str, bytes]) -> bool:
        if self._store is None:
            return False
        with self._lock:
            self._store.update(items)
        return True

    def status(self) -> dict[str, Any]:
        if self._store is None:
            return {"backend": "none", "status": "disabled"}
        return {"backend": "local", "status": "ok", "entries": len(self._store), "max_entries": self._entries}


class RedisCache:
    def __init__(
        self,
        client: Any,
        ttl_seconds: int,
        breaker: CircuitBreaker,
        credentials: SecretsManagerCredentials | None = None,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self.breaker = breaker
        self._credentials = credentials

    @classmethod
    def from_url(
        cls,
        url: str,
        ttl_seconds: int,
        timeout_seconds: float,
        breaker: CircuitBreaker,
        secret_id: str | None = None,
    ) -> RedisCache:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        credentials = None
        if secret_id:  # the password comes from Secrets Manager, never from the URL or the environment
            from serving.redis_credentials import SecretsManagerCredentials

            credentials = SecretsManagerCredentials(secret_id)
        # No client-side retries: one bounded attempt, then the breaker decides.
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
            credential_provider=credentials,
        )
        return cls(client, ttl_seconds, breaker, credentials)

    def get_many(self, keys: list[str]) -> CacheRead:
        if not keys:
            return CacheRead([], available=True)
        values = self._call(lambda: self._client.mget(keys))
        if values is None:
            return CacheRead([None] * len(keys), available=False)
        return CacheRead(list(values), available=True)

    def set_many(self, items: dict[str, bytes]) -> bool:
        if not items:
            return True

        def write() -> bool:
            if len(items) == 1:  # the common single-text case: a plain SET skips the pipeline's overhead
                ((key, value),) = items.items()
                return bool(self._client.set(key, value, ex=self._ttl))
            pipe = self._client.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(key, value, ex=self._ttl)
            pipe.execute()
            return True

        return self._call(write) is not None

    def reconnect(self) -> None:
        """Drop every pooled connection (they are dead after a SnapStart restore) and start afresh."""
        self._client.connection_pool.disconnect()
        self.breaker.record_success()

    def ping(self) -> bool:
        return self._call(self._client.ping) is not None

    def status(self) -> dict[str, Any]:
        reachable = self.ping()
        state = self.breaker.state
        return {
            "backend": "redis",
            "status": "reachable" if reachable and state == "closed" else "degraded",
            "breaker": state,
        }

    def _call(self, operation: Any) -> Any:
        if not self.breaker.allow():
            return None
        try:
            result = operation()
        except Exception as error:  # redis-py raises several families (connection, timeout, auth, response)
            if not (self._credentials is not None and _is_auth_failure(error)):
                self.breaker.record_failure()
                return None
            # A rotated secret: fetch it again once, reconnect, and try once more.
            self._credentials.refresh()
            self._client.connection_pool.disconnect()
            try:
                result = operation()
            except Exception:
                self.breaker.record_failure()
                return None
        self.breaker.record_success()
        return result


def _is_auth_failure(error: Exception) -> bool:
    from redis.exceptions import AuthenticationError, ResponseError

    if isinstance(error, AuthenticationError):
        return True
    return isinstance(error, ResponseError) and str(error).startswith(("WRONGPASS", "NOAUTH"))


class TieredCache:
    """Local tier first; the shared tier answers what the local tier lacks and refills it."""

    def __init__(self, local: LocalCache, shared: RedisCache | None) -> None:
        self.local = local
        self.shared = shared

    def get_many(self, keys: list[str]) -> CacheRead:
        local = self.local.get_many(keys)
        if self.shared is None:
            return local
        missing = [key for key, value in zip(keys, local.values, strict=True) if value is None]
        if not missing:
            return local
        shared = self.shared.get_many(missing)
        found = dict(zip(missing, shared.values, strict=True))
        values = [value if value is not None else found[key] for key, value in zip(keys, local.values, strict=True)]
        refill = {key: value for key, value in found.items() if value is not None}
        if refill:
            self.local.set_many(refill)
        return CacheRead(values, available=shared.available)

    def set_many(self, items: dict[str, bytes], shared: bool = True) -> bool:
        stored_locally = self.local.set_many(items)
        if self.shared is None:
            return stored_locally
        if not shared:
            return False  # the caller's read of the shared tier just failed: skip it, do not wait twice
        return self.shared.set_many(items)

    def reconnect(self) -> None:
        if self.shared is not None:
            self.shared.reconnect()

    def status(self) -> dict[str, Any]:
        if self.shared is None:
            return self.local.status()
        return {**self.shared.status(), "local_tier": self.local.status()["status"]}
