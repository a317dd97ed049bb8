"""Fixed per-request cost of the real Lambda handler, in process, with no Redis.

Calls ``serving.handler.lambda_handler`` with API Gateway REST (v1) proxy events for
POST /predict: the same text every time (an in-process cache HIT after the first call)
and a new text every time (a MISS: predict + store). Logs and EMF are formatted and
written, to a sink.

Usage:
  python bench/profile_handler.py [--requests N] [--rounds R]   p50/p95 per path, best of R rounds
  python bench/profile_handler.py --profile hit|miss [--top K]   cProfile of that path
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import statistics
import time
from typing import Any

from bench.handler_latency import MODELS_DIR, Context, event, texts, timed
from devsupport.logs import point_service_logs_at

ENV = {
    "MODELS_DIR": str(MODELS_DIR),
    "POWERTOOLS_TRACE_DISABLED": "true",
    "DEFAULT_MODEL_VERSION": "v1",
    "REDIS_URL": "",  # in-process tier only
    "CACHE_LOCAL_ENTRIES": "100000",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=["hit", "miss"])
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="cpu: this thread's CPU time, steadier than wall time when other processes share the machine",
    )
    args = parser.parse_args()

    os.environ.update(ENV)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        import serving.handler

        point_service_logs_at(sink)
        handler = serving.handler.lambda_handler
        context = Context()
        hit = event("the same text every time", 0)
        first = handler(hit, context)
        assert first["statusCode"] == 200, first
        assert handler(hit, context)["headers"]["x-cache"] == "HIT"
        miss_texts = iter(texts(300 + args.requests * max(args.rounds, 1)))
        counter = iter(range(1, 10**9))

        def call_hit() -> Any:
            return handler(hit, context)

        def call_miss() -> Any:
            return handler(event(next(miss_texts), next(counter)), context)

        for _ in range(300):  # warm up both paths
            call_hit()
            call_miss()

        if args.profile:
            call = call_hit if args.profile == "hit" else call_miss
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                call()
            profiler.disable()
        else:
            clock = time.thread_time if args.clock == "cpu" else time.perf_counter
            best: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for name, call in (("HIT local", call_hit), ("MISS", call_miss)):
                    samples = timed(call, args.requests, clock)
                    if name not in best or statistics.median(samples) < statistics.median(best[name]):
                        best[name] = samples
                sink.seek(0)
                sink.truncate()

    if args.profile:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        return
    print(f"{'path':<12}{'p50 ms':>10}{'p95 ms':>10}  ({args.clock} clock, best of {args.rounds} rounds)")
    for name, samples in best.items():
        ordered = sorted(samples)
        p95 = ordered[int(0.95 * len(ordered))]
        print(f"{name:<12}{statistics.median(ordered):>10.3f}{p95:>10.3f}")
    ratio = statistics.median(best["HIT local"]) / statistics.median(best["MISS"])
    print(f"HIT/MISS p50 ratio {ratio:.3f}")


if __name__ == "__main__":
    main()
