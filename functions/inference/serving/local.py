"""Run the same app on this machine with uvicorn: `python -m serving.local`.

No Lambda, no Docker, no Redis needed: with REDIS_URL unset the in-process cache is used.
Metrics are flushed after every request here, as the Lambda handler does per invocation.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from serving.bootstrap import build_app
from serving.observability import metrics

app = build_app()


@app.middleware("http")
async def flush_metrics(request: Any, call_next: Any) -> Any:
    response = await call_next(request)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # /health and /models add no metrics
        metrics.flush_metrics()
    return response


def main() -> None:
    import uvicorn

    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    uvicorn.run(app, host=host, port=port, log_level="info")


if __name__ == "__main__":
    main()
