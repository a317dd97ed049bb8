"""Where the service's log lines go, for tests and benchmarks that read or hide them."""

from __future__ import annotations

import logging
from typing import Any


def point_service_logs_at(stream: Any) -> None:
    """Send the service logger's lines (its request lines included) to ``stream``.

    Powertools' handler keeps the stream it was created with (sys.stdout at import), so redirecting
    stdout alone does not move them.
    """
    from serving.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler), handler
    handler.stream = stream
