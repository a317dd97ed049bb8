"""The benchmarks' floor: Mangum + FastAPI with nothing of the service's, one validated POST route.

Warm (bench/handler_latency.py) and cold (bench/cold_start.py) targets are ratios against this app
answering the same API Gateway event, so both benches build it here.
"""

# No `from __future__ import annotations`: FastAPI must see the local Body class, not its name.
from typing import Any


def floor_handler() -> Any:
    """A Lambda handler: POST /predict validates {"text": str} and answers a small JSON object."""
    from fastapi import FastAPI
    from mangum import Mangum
    from pydantic import BaseModel

    class Body(BaseModel):
        text: str

    app = FastAPI()

    @app.post("/predict")
    async def predict(body: Body) -> dict[str, Any]:
        return {"label": "neutral", "chars": len(body.text)}

    return Mangum(app, lifespan="off")
