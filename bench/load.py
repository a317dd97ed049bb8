"""Scripted load run against the local uvicorn server, on loopback only.

Starts ``python -m serving.local`` on a free 127.0.0.1 port (in-process cache by default, or a
given REDIS_URL), waits until it answers, then runs a fixed number of concurrent clients, each
sending a fixed number of requests over one keep-alive connection. Prints throughput, latency
percentiles, cache outcomes and the error count; exits 1 if any request failed.

    .venv/bin/python bench/load.py --clients 8 --requests 250
    .venv/bin/python bench/load.py --clients 4 --requests 50 --redis-url redis://127.0.0.1:6379/0

Every answer is checked, not just its status: a 200 with a malformed body is an error too.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devsupport import processes
from devsupport.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = ROOT / "layers" / "models" / "models"
LOOPBACK = "127.0.0.1"
MAX_CLIENTS = 64
MAX_REQUESTS = 10_000

# A small pool makes repeats (cache hits); a unique suffix on some requests forces misses.
TEXTS = [
    "I love this system",
    "the battery died after a day",
    "support answered within minutes, brilliant",
    "it arrived on tuesday",
    "worst purchase I have made this year",
    "not sure how I feel about the new update",
    "the app crashes whenever I open settings",
    "great value for the price",
]
VERSIONS: list[str | None] = [None, None, "v1", "v2"]


@dataclass
class ClientResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    cache: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)


def loopback_target(url: str) -> tuple[str, int]:
    """host and port of ``url``, refusing anything that is not a loopback address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        is_loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if parts.scheme != "http" or not is_loopback or parts.port is None:
        raise SystemExit(f"--url must be http://<loopback address>:<port>, got {url!r}")
    return host, parts.port


class LocalServer:
    """``python -m serving.local`` as a child process; its output goes to a file, not the terminal."""

    def __init__(self, models_dir: Path, redis_url: str | None, extra_env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="load-server-", suffix=".log", delete=False)  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(
            {
                "MODELS_DIR": str(models_dir),
                "HOST": LOOPBACK,
                "PORT": str(self.port),
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PYTHONUNBUFFERED": "1",
                **extra_env,
            }
        )
        if redis_url:
            env["REDIS_URL"] = redis_url
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serving.local"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until /health answers at all (200 or 503): the server is up; models load lazily."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.tail()}")
            try:
                connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=2)
                connection.request("GET", "/health")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server not answering on {LOOPBACK}:{self.port} after {timeout}s:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        processes.stop(self.process)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def check_answer(status: int, raw: bytes, batch: bool) -> tuple[str | None, dict[str, Any] | None]:
    """(error kind or None, parsed body)."""
    if status != 200:
        return f"http_{status}", None
    try:
        body = json.loads(raw)
        items = body["results"] if batch else [body]
        for item in items:
            scores = item["scores"]
            if item["label"] not in scores or item["cache"] not in {"HIT", "MISS", "BYPASS"}:
                return "invalid_body", None
        if not body["model_version"] or not body["request_id"]:
            return "invalid_body", None
    except (ValueError, KeyError, TypeError):
        return "invalid_body", None
    return None, body


def run_client(
    host: str, port: int, requests: int, seed: int, start: threading.Barrier, timeout: float
) -> ClientResult:
    rng = random.Random(seed)  # noqa: S311 - a reproducible request mix, not a secret
    result = ClientResult()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    start.wait()
    for index in range(requests):
        version = rng.choice(VERSIONS)
        text = rng.choice(TEXTS)
        if rng.random() < 0.2:
            text = f"{text} #{seed}-{index}"  # unseen: a miss
        batch = index % 10 == 9  # one request in ten is a small batch
        path = "/predict/batch" if batch else "/predict"
        if version:
            path += f"?model_version={version}"
        payload = json.dumps({"texts": [text, rng.choice(TEXTS)]} if batch else {"text": text})
        began = time.perf_counter()
        try:
            connection.request("POST", path, body=payload, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            result.errors[type(error).__name__] += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
            continue
        result.latencies_ms.append((time.perf_counter() - began) * 1000)
        problem, body = check_answer(response.status, raw, batch)
        if problem:
            result.errors[problem] += 1
            continue
        assert body is not None
        result.versions[body["model_version"]] += 1
        for item in body["results"] if batch else [body]:
            result.cache[item["cache"]] += 1
    connection.close()
    return result


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def run_load(host: str, port: int, clients: int, requests: int, timeout: float) -> dict[str, Any]:
    start = threading.Barrier(clients + 1)
    results: list[ClientResult] = [ClientResult() for _ in range(clients)]

    def work(slot: int) -> None:
        results[slot] = run_client(host, port, requests, seed=slot, start=start, timeout=timeout)

    threads = [threading.Thread(target=work, args=(slot,), daemon=True) for slot in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began

    latencies = sorted(value for result in results for value in result.latencies_ms)
    errors: Counter[str] = sum((result.errors for result in results), Counter())
    cache: Counter[str] = sum((result.cache for result in results), Counter())
    versions: Counter[str] = sum((result.versions for result in results), Counter())
    total = clients * requests
    return {
        "clients": clients,
        "requests": total,
        "seconds": round(elapsed, 3),
        "throughput_rps": round(total / elapsed, 1) if elapsed else None,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "cache": dict(cache),
        "versions": dict(versions),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help=f"concurrent clients, 1 to {MAX_CLIENTS}")
    parser.add_argument("--requests", type=int, default=250, help=f"requests per client, 1 to {MAX_REQUESTS}")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    parser.add_argument("--redis-url", default=None, help="shared cache for the server (default: in-process)")
    parser.add_argument("--url", default=None, help="use an already running server at this loopback URL")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request socket timeout, seconds")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS or not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--clients must be 1..{MAX_CLIENTS} and --requests 1..{MAX_REQUESTS}")

    server = None
    if args.url:
        host, port = loopback_target(args.url)
    else:
        server = LocalServer(args.models_dir.resolve(), args.redis_url, {})
        host, port = LOOPBACK, server.port
    try:
        if server is not None:
            server.wait_ready()
        summary = run_load(host, port, args.clients, args.requests, args.timeout)
    except RuntimeError as error:
        print(f"load: {error}", file=sys.stderr)
        return 2
    finally:
        tail = server.tail() if server is not None else ""
        if server is not None:
            server.stop()

    print(
        f"{summary['requests']} requests from {summary['clients']} clients in {summary['seconds']} s: "
        f"{summary['throughput_rps']} req/s, p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, "
        f"max {summary['max_ms']} ms, errors {summary['errors']}"
    )
    print(f"cache: {summary['cache']}  versions: {summary['versions']}  error kinds: {summary['error_kinds']}")
    print("RESULT " + json.dumps(summary, sort_keys=True))  # one machine-readable line for scripts and tests
    if summary["errors"]:
        print(f"server log tail:\n{tail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
