"""A circuit breaker, so a Redis outage costs one timeout per cool-down, not one per request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    """closed -> (``failures`` in a row) -> open -> (``cooldown`` passes) -> half-open.

    Half-open lets exactly one call through: success closes the breaker, failure
    re-opens it for another cool-down.
    """

    def __init__(self, failures: int, cooldown_seconds: float, clock: Callable[[], float] = time.monotonic):
        self._threshold = failures
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._cooldown:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        if self._opened_at is None:  # closed: the common case needs no lock (nothing to change)
            return True
        with self._lock:
            state = self.state
            if state == "closed":
                return True
            if state == "half-open" and not self._probing:
                self._probing = True
                return True
            return False

    def record_success(self) -> None:
        if self._failures == 0 and self._opened_at is None and not self._probing:
            return  # already closed with no failures: nothing to reset, no lock to take
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._probing = False
            if self._opened_at is not None or self._failures >= self._threshold:
                self._opened_at = self._clock()
