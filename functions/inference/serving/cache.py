"""Response cache: an in-process LRU in front of an optional shared Redis.

Keys are built AFTER version resolution from the served version, the artifact digest
and a hash of the normalised text, so an answer can only ever be found again by a
request that the same artifact serves. Values (``serving.cache_entry``) are checked on
read by the service: anything invalid is a miss, counted, and overwritten.

Redis is an optimisation, never a dependency: every Redis error or timeout is absorbed
(the caller sees ``available=False`` and answers ``cache: BYPASS``); every call ends by
a deadline (``serving.deadline``), one budget per request covers its read and its write,
and a circuit breaker stops paying that wait on every request during an outage. A read
never transfers more than ``MAX_ENTRY_BYTES + 1`` bytes per key, whatever a key holds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cachetools import TTLCache

from serving.breaker import CircuitBreaker
from serving.cache_entry import MAX_ENTRY_BYTES, text_digest
from serving.cache_policy import RunningMean
from serving.deadline import Budget
from serving.predictor import Prediction

if TYPE_CHECKING:
    from serving.redis_credentials import SecretsManagerCredentials

KEY_PREFIX = "pred"

# One round trip for any number of keys, like MGET, but at most MAX_ENTRY_BYTES + 1 bytes of each
# value (so a huge value costs no more than a valid one, and is still recognisably too large), and a
# key holding another type reads as "!" (rejected, then overwritten) instead of failing the batch.
# GETRANGE answers "" for a missing key; a Lua table cannot hold nil, so "" means absent.
_READ_SCRIPT = """
local values = {}
for i, key in ipairs(KEYS) do
  local value = redis.pcall('GETRANGE', key, 0, ARGV[1])
  if type(value) ~= 'string' then value = '!' end
  values[i] = value
end
return values
"""

# Several values in one command, each with the TTL: a pipeline of SETs costs the client a command to
# pack and a reply to parse per key, about half of a 64-text batch's time (bench/handler_latency.py).
_WRITE_SCRIPT = """
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[i + 1], 'EX', ARGV[1])
end
return #KEYS
"""


def cache_key(version: str, digest: str, normalised_text: str) -> str:
    return key_for(version, digest, text_digest(normalised_text))


def key_for(version: str, digest: str, text_sha256: str) -> str:
    return f"{KEY_PREFIX}:{version}:{digest}:{text_sha256}"


@dataclass(frozen=True)
class CacheRead[V]:
    values: list[V | None]
    # False when the tier could not be asked: a None value then means "unknown", not "absent".
    available: bool


class LocalCache:
    """Bounded LRU with the same TTL as the shared tier; lives as long as the instance.

    It holds answers, not bytes: only the service's own predictions and shared-tier values that passed
    validation go in, so a local HIT needs no decoding and no second check.
    """

    def __init__(self, entries: int, ttl_seconds: int) -> None:
        self._entries = entries
        self._store: TTLCache[str, Prediction] | None = TTLCache(entries, ttl_seconds) if entries else None
        self._lock = threading.Lock()

    def get_many(self, keys: list[str]) -> CacheRead[Prediction]:
        if self._store is None:
            return CacheRead([None] * len(keys), available=False)
        with self._lock:
            return CacheRead([self._store.get(key) for key in keys], available=True)

    def set_many(self, items: dict[str, Prediction]) -> bool:
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
        timeout_seconds: float,
        connect_timeout_seconds: float,
        credentials: SecretsManagerCredentials | None = None,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self.breaker = breaker
        self._timeout = timeout_seconds
        self._connect_timeout = connect_timeout_seconds
        self._credentials = credentials
        self._read = client.register_script(_READ_SCRIPT)
        self._write = client.register_script(_WRITE_SCRIPT)
        # One single-key command's time, as measured here: what CACHE_POLICY=auto weighs a predict against.
        self.round_trip = RunningMean()

    @classmethod
    def from_url(
        cls,
        url: str,
        ttl_seconds: int,
        timeout_seconds: float,
        connect_timeout_seconds: float,
        breaker: CircuitBreaker,
        secret_id: str | None = None,
    ) -> RedisCache:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        from serving.redis_deadline import OffTheClockCredentials, connection_class

        credentials = None
        if secret_id:  # the password comes from Secrets Manager, never from the URL or the environment
            from serving.redis_credentials import SecretsManagerCredentials

            credentials = SecretsManagerCredentials(secret_id)
        # No client-side retries: one bounded attempt, then the breaker decides. The socket timeouts
        # only apply outside a budgeted call (never, here): each call's deadline bounds it as a whole.
        client = redis.Redis.from_url(
            url,
            connection_class=connection_class(url),
            socket_timeout=timeout_seconds,
            socket_connect_timeout=connect_timeout_seconds,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
            credential_provider=OffTheClockCredentials(credentials) if credentials else None,
        )
        return cls(client, ttl_seconds, breaker, timeout_seconds, connect_timeout_seconds, credentials)

    def budget(self) -> Budget:
        """One request's allowance: REDIS_TIMEOUT_MS for its calls, REDIS_CONNECT_TIMEOUT_MS to connect."""
        return Budget(self._timeout, self._connect_timeout)

    def get_many(self, keys: list[str], budget: Budget | None = None) -> CacheRead[bytes]:
        if not keys:
            return CacheRead([], available=True)
        read = self._read_one if len(keys) == 1 else self._read_many
        values = self._call(lambda: read(keys), budget)
        if values is None:
            return CacheRead([None] * len(keys), available=False)
        return CacheRead([value or None for value in values], available=True)

    def _read_many(self, keys: list[str]) -> list[bytes]:
        return list(self._read(keys=keys, args=[MAX_ENTRY_BYTES]))

    def _read_one(self, keys: list[str]) -> list[bytes]:
        """The script's answer for one key, by a plain GETRANGE: the single-text case skips EVALSHA's cost."""
        try:
            started = time.perf_counter()
            value = self._client.getrange(keys[0], 0, MAX_ENTRY_BYTES)
            self.round_trip.add(time.perf_counter() - started)
            return [value]
        except Exception as error:
            if _is_wrong_type(error):  # a key of another type: rejected, as the script reads it
                return [b"!"]
            raise

    def set_many(self, items: dict[str, bytes], budget: Budget | None = None) -> bool:
        if not items:
            return True

        def write() -> bool:
            if len(items) == 1:  # the common single-text case: a plain SET skips the script's overhead
                ((key, value),) = items.items()
                started = time.perf_counter()
                stored = bool(self._client.set(key, value, ex=self._ttl))
                self.round_trip.add(time.perf_counter() - started)
                return stored
            self._write(keys=list(items), args=[self._ttl, *items.values()])
            return True

        return self._call(write, budget) is not None

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

    def _call(self, operation: Any, budget: Budget | None = None) -> Any:
        """The operation's result, or None if it failed, timed out or was not attempted.

        At most one failure per budget: after it (or once the budget is used up, or while the breaker
        is open) nothing more is sent, so a request waits for Redis once at most.
        """
        budget = budget or self.budget()
        if budget.exhausted or not self.breaker.allow():
            budget.exhausted = True
            return None
        with budget.window():
            try:
                result = self._attempt(operation)
            except Exception:  # redis-py raises several families (connection, timeout, auth, response)
                budget.exhausted = True
                self.breaker.record_failure()
                return None
        self.breaker.record_success()
        return result

    def _attempt(self, operation: Any) -> Any:
        try:
            return operation()
        except Exception as error:
            if self._credentials is None or not _is_auth_failure(error):
                raise
        # A rotated secret: fetch it again once, reconnect, and try once more (within the same budget).
        self._credentials.refresh()
        self._client.connection_pool.disconnect()
        return operation()


def _is_wrong_type(error: Exception) -> bool:
    from redis.exceptions import ResponseError

    return isinstance(error, ResponseError) and str(error).startswith("WRONGTYPE")


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

    def budget(self) -> Budget | None:
        """The shared tier's allowance for one request (None without a shared tier)."""
        return self.shared.budget() if self.shared is not None else None

    def get_many(
        self,
        keys: list[str],
        validate: Callable[[int, bytes], Prediction | None],
        budget: Budget | None = None,
        use_shared: bool = True,
    ) -> CacheRead[Prediction]:
        """Answers for ``keys``: local first, then the shared tier, whose values count only once
        ``validate(index, value)`` accepts them (then they refill the local tier).
        ``use_shared=False``: the local tier only (a CACHE_POLICY that skips Redis for this request)."""
        local = self.local.get_many(keys)
        if self.shared is None or not use_shared:
            return local
        missing = [index for index, value in enumerate(local.values) if value is None]
        if not missing:
            return local
        shared = self.shared.get_many([keys[index] for index in missing], budget)
        values = list(local.values)
        refill = {}
        for index, raw in zip(missing, shared.values, strict=True):
            if raw is not None and (answer := validate(index, raw)) is not None:
                values[index] = refill[keys[index]] = answer
        if refill:
            self.local.set_many(refill)
        return CacheRead(values, available=shared.available)

    def set_many(
        self,
        answers: dict[str, Prediction],
        encoded: dict[str, bytes],
        budget: Budget | None = None,
        use_shared: bool = True,
    ) -> bool:
        """Fresh answers into the local tier, and their ``encoded`` values into the shared tier."""
        stored_locally = self.local.set_many(answers)
        if self.shared is None or not use_shared:
            return stored_locally
        if budget is not None and budget.exhausted:
            return False  # this request's read of the shared tier failed: skip it, do not wait twice
        return self.shared.set_many(encoded, budget)

    def reconnect(self) -> None:
        if self.shared is not None:
            self.shared.reconnect()

    def status(self) -> dict[str, Any]:
        if self.shared is None:
            return self.local.status()
        return {**self.shared.status(), "local_tier": self.local.status()["status"]}
