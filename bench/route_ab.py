"""Does ``PlainJSONRoute`` still pay? The same app with it and with FastAPI's own route, interleaved.

The fast route re-implements part of FastAPI's request handling (serving/api.py); the house rule is to keep
it only while it pays clearly beyond run-to-run noise. Both apps are built in this process from the same
settings (in-process cache, no Redis) and called through Mangum with the same REST event: HIT (the same
text) and MISS (a new text each call), ROUNDS interleaved rounds of REQUESTS calls; it prints the median of
the rounds' p50s per variant, their difference, and the spread of the rounds' p50s.

Usage: python bench/route_ab.py [--rounds 30] [--requests 300]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import statistics
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.routing import APIRoute
from mangum import Mangum

from bench.handler_latency import MODELS_DIR, Context, event, texts, timed
from devsupport.logs import point_service_logs_at


def build(fast_route: bool) -> Callable[..., Any]:
    from serving import api
    from serving.bootstrap import build_app

    own = api.PlainJSONRoute.get_route_handler
    if not fast_route:  # FastAPI's handler for the same declared routes: the route's only difference
        api.PlainJSONRoute.get_route_handler = APIRoute.get_route_handler  # type: ignore[method-assign]
    try:
        return Mangum(build_app(), lifespan="off")
    finally:
        api.PlainJSONRoute.get_route_handler = own  # type: ignore[method-assign]


def _caller(handler: Callable[..., Any], events: Iterator[dict[str, Any]]) -> Callable[[], Any]:
    return lambda: handler(next(events), Context())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ.update({"MODELS_DIR": str(MODELS_DIR), "POWERTOOLS_TRACE_DISABLED": "true", "REDIS_URL": ""})
    sink = io.StringIO()
    context = Context()
    fresh = iter(texts(2 * args.rounds * args.requests + 1000))
    p50s: dict[str, list[float]] = {}
    with contextlib.redirect_stdout(sink):
        point_service_logs_at(sink)
        handlers = {"PlainJSONRoute": build(True), "FastAPI route": build(False)}
        hit = event("the same text every time", 0)
        for handler in handlers.values():
            for i in range(300):
                handler(hit, context)
                handler(event(next(fresh), i), context)
        for _ in range(args.rounds):
            for name, handler in handlers.items():
                hit_p50 = statistics.median(timed(_caller(handler, itertools.repeat(hit)), args.requests))
                p50s.setdefault(f"HIT {name}", []).append(hit_p50)
                misses = iter([event(next(fresh), i) for i in range(args.requests)])
                miss_p50 = statistics.median(timed(_caller(handler, misses), args.requests))
                p50s.setdefault(f"MISS {name}", []).append(miss_p50)
            sink.seek(0)
            sink.truncate()
    for path in ("HIT", "MISS"):
        fast, plain = p50s[f"{path} PlainJSONRoute"], p50s[f"{path} FastAPI route"]
        fast_ms, plain_ms = statistics.median(fast), statistics.median(plain)
        print(
            f"{path:<5} PlainJSONRoute {fast_ms:.3f} ms, FastAPI route {plain_ms:.3f} ms (p50, median of"
            f" {args.rounds} rounds): saves {plain_ms - fast_ms:.3f} ms; spread of the rounds' p50s"
            f" {statistics.pstdev(fast):.3f} / {statistics.pstdev(plain):.3f} ms"
        )


if __name__ == "__main__":
    main()
