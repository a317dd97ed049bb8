"""The benchmarks' floor: Mangum + FastAPI with nothing of the service's, one validated POST route.

Warm (bench/handler_latency.py) and cold (bench/cold_start.py) targets are ratios against this app
answering the same API Gateway event, so both benches build it here.
"""

# No `from __future__ import annotations`: FastAPI must see the local Body class, not its name.
from typing import Any


def floor_handler(redis_url: str | None = None) -> Any:
    """A Lambda handler: POST /predict validates {"text": str} and answers a small JSON object.

    With ``redis_url``, the route also makes one plain redis-py GET: what one round trip costs inside a
    request, where the process sleeps on the socket and resumes with colder caches than a GET loop.
    """
    from fastapi import FastAPI
    from mangum import Mangum
    from pydantic import BaseModel

    class Body(BaseModel):
        text: str

    app = FastAPI()
    client = None
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url)

    @app.post("/predict")
    async def predict(body: Body) -> dict[str, Any]:
        if client is not None:
            client.get("floor:key")
        return {"label": "neutral", "chars": len(body.text)}

    return Mangum(app, lifespan="off")
