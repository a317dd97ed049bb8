"""The circuit breaker around Redis: closed, open after N failures, one probe after the cool-down."""

from __future__ import annotations

from serving.breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_the_threshold_and_lets_one_probe_through_after_the_cool_down():
    clock = Clock()
    breaker = CircuitBreaker(failures=2, cooldown_seconds=5, clock=clock)
    assert breaker.allow() and breaker.state == "closed"
    breaker.record_failure()
    assert breaker.allow()  # one failure is under the threshold
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 5
    assert breaker.state == "half-open"
    assert breaker.allow() and not breaker.allow()  # exactly one probe
    breaker.record_failure()  # the probe failed: open again, for a new cool-down
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 5
    assert breaker.allow()
    breaker.record_success()  # the probe succeeded: closed, failures forgotten
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "closed"  # the count restarted from zero


def test_successes_while_closed_keep_it_closed_and_reset_the_count():
    breaker = CircuitBreaker(failures=2, cooldown_seconds=5, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
