"""One bounded wait per request: a budget for Redis calls, and the deadline of the call running now.

A request gets a ``Budget``: ``command`` seconds for all its Redis calls together (the read, then the
write), plus ``connect`` seconds for opening connections (connect, TLS handshake, AUTH), which a warm
instance does not pay. Each call runs in a window of what is left; the socket layer
(``serving.redis_deadline``) asks ``seconds_left()`` before every blocking operation, so the call ends
by its deadline however slowly the peer answers. A call that fails exhausts the budget: the request
makes no second call and waits no second time.

The window is thread-local: redis-py runs a call on the thread that made it, on a connection no other
thread uses until the call ends. Standard library only (imported whether or not Redis is configured).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_local = threading.local()


class DeadlinePassed(TimeoutError):  # a TimeoutError: redis-py handles it as a socket timeout
    """The current Redis call has used its whole budget."""


@dataclass
class _Window:
    deadline: float  # monotonic time by which the current phase (connecting, or the command) must end
    connect_left: float  # seconds left for opening connections
    excluded: float = 0.0  # seconds of this window not charged to the command budget (connecting, paused)


def _window() -> _Window | None:
    return getattr(_local, "window", None)


class Budget:
    """What one request may still spend waiting on Redis."""

    def __init__(self, command_seconds: float, connect_seconds: float) -> None:
        self.command_left = command_seconds
        self.connect_left = connect_seconds
        self.exhausted = False  # a call failed, was refused, or used everything: make no more calls

    @contextmanager
    def window(self) -> Iterator[None]:
        """Run one Redis call within what is left of the budget, and charge what it used."""
        start = time.monotonic()
        window = _Window(deadline=start + self.command_left, connect_left=self.connect_left)
        outer = _window()
        _local.window = window
        try:
            yield
        finally:
            _local.window = outer
            self.command_left -= time.monotonic() - start - window.excluded
            self.connect_left = window.connect_left
            if self.command_left <= 0:
                self.exhausted = True


@contextmanager
def connecting() -> Iterator[None]:
    """Open a connection against the connect allowance; the command deadline moves on by the time taken."""
    window = _window()
    if window is None:
        yield
        return
    start = time.monotonic()
    command_deadline, excluded_before = window.deadline, window.excluded
    window.deadline = start + window.connect_left
    try:
        yield
    finally:
        elapsed = time.monotonic() - start
        window.connect_left -= elapsed - (window.excluded - excluded_before)  # paused time is free
        window.deadline = command_deadline + elapsed
        window.excluded = excluded_before + elapsed


@contextmanager
def off_the_clock() -> Iterator[None]:
    """Time spent inside is charged to nobody (fetching credentials is not waiting on Redis)."""
    window = _window()
    start = time.monotonic()
    try:
        yield
    finally:
        if window is not None:
            elapsed = time.monotonic() - start
            window.deadline += elapsed
            window.excluded += elapsed


def seconds_left(default: float | None) -> float | None:
    """Seconds left for the current phase of the current call; ``default`` outside any call."""
    window = _window()
    if window is None:
        return default
    left = window.deadline - time.monotonic()
    if left <= 0:
        raise DeadlinePassed("Redis call deadline passed")
    return left
