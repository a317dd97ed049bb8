"""Latency through `sam local start-api` with warm containers: API Gateway emulation -> RIE -> awslambdaric
-> Mangum -> FastAPI, the layers as `sam build` made them, Redis on a docker network (as `make sam-local`).

  1. `sam build --cached` into .aws-sam/bench/ (its own build.toml and cache: only what changed is rebuilt,
     and `make build`'s cache in .aws-sam/ is left alone)
  2. Redis container on a private docker network; `sam local start-api --warm-containers EAGER` on a
     free loopback port (offline, SAM_LOCAL_OFFLINE=1: the stand-in images, `--invoke-image ... --skip-pull-image`)
  3. wait for GET /health, warm up, then N sequential requests, interleaved:
       MISS     POST /predict, a new text each time
       HIT      POST /predict, the same text each time (answered by the warm container's in-process tier)
       health   GET /health
     each timed at the client (a new loopback connection per request, as curl does), beside the
     function's own `latency_ms` from the answer: the difference is what the emulation adds
  4. memory of the warm function container (`docker stats --no-stream`) and the runtime process's RSS,
     after warm-up and after the run

Everything it started (the SAM process group, the function and Redis containers, the network, SAM's
temporary files) is removed on exit, also on error and Ctrl-C; the build stays for the next run.
Without a Docker engine it prints "skipped: ..." and exits 0 (with --json, the file says so too).

Usage: python bench/sam_local.py [--requests N] [--warmup N] [--json PATH]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devsupport import processes
from devsupport.docker import docker, docker_problem, env_file, remove_network, start_redis
from devsupport.ports import free_port
from devsupport.sam import FUNCTION_ID as FUNCTION
from devsupport.sam import OFFLINE, REDIS_IMAGE, STANDIN_IMAGE, find_sam, offline_args, sam_env

ROOT = Path(__file__).resolve().parents[1]
# SAM keeps build.toml (the source hashes behind --cached) next to the build folder and deletes every cache
# entry that file does not name: a build elsewhere would always start cold and would wipe the cache of
# `make build` (.aws-sam/build.toml, .aws-sam/cache). So the benchmark has a folder of its own.
BUILD_HOME = ROOT / ".aws-sam" / "bench"
KINDS = ("MISS", "HIT", "health")
# SAM CLI (1.170) answers once the function's "REPORT RequestId: ..." log line has been seen, waiting at most
# 1 s for it (Container.wait_for_result); its regex misses that line when docker delivers it in one chunk
# with two or more lines before it, and then the answer waits the full second. A sam local artifact, not
# the function's time: counted separately as "stalls" so the percentiles can be read.
STALL_MS = 1000.0


def log(message: str) -> None:
    print(f"[sam-local] {message}", flush=True)


def why_skip() -> str | None:
    problem = docker_problem()
    return (
        f"no Docker engine ({problem}; start it with local/start-docker.sh or source .ci/docker-up.sh)"
        if problem
        else None
    )


def summary(samples: list[float]) -> dict[str, float]:
    """Same percentiles as bench/handler_latency.py, and how many requests took over a second (see STALL)."""
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    stalls = sum(1 for sample in ordered if sample >= STALL_MS)
    return {
        "p50": statistics.median(ordered),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "n": len(ordered),
        "stalls": stalls,
    }


def texts(count: int, nonce: str) -> list[str]:
    words = "battery screen price support delivery update camera app love hate slow fast broken great".split()
    return [f"{words[i % 14]} {words[(i * 7) % 14]} review {nonce} {i} {words[(i * 3) % 14]}" for i in range(count)]


_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def to_mb(figure: str) -> float | None:
    """'151.2MiB' -> MB (MiB, as everywhere in this repo's RSS figures)."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]+)\s*", figure)
    if not match or match.group(2).lower() not in _UNITS:
        return None
    return float(match.group(1)) * _UNITS[match.group(2).lower()] / 1024**2


class Session:
    """Everything started here, stopped in reverse order by close() (idempotent)."""

    def __init__(self, sam: str) -> None:
        self.sam = sam
        self.tag = f"sentiment-bench-{os.getpid()}"
        self.network = self.tag
        self.redis = f"{self.tag}-redis"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.tag}-"))
        self.build_dir = BUILD_HOME / "build"
        self.log_path = self.workdir / "start-api.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.cleanups: list[tuple[str, Callable[[], None]]] = []
        self.dangling_before = self._dangling()

    def env(self) -> dict[str, str]:
        return sam_env(self.workdir / "tmp")  # a private TMPDIR: SAM's image-build locks are ours alone

    def build(self) -> None:
        build_log = self.workdir / "build.log"
        args = [
            self.sam,
            "build",
            "--cached",
            "--cache-dir",
            str(BUILD_HOME / "cache"),
            "--build-dir",
            str(self.build_dir),
        ]
        with build_log.open("wb") as out:
            result = subprocess.run(args, cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            sys.exit(f"sam build failed:\n{build_log.read_text(errors='replace')[-4000:]}")

    def start_redis(self) -> str:
        self.cleanups.append(("network and its containers", lambda: remove_network(self.network)))
        try:
            url = start_redis(self.network, self.redis)
        except RuntimeError as error:
            sys.exit(str(error))
        return str(env_file(url, self.workdir / "env.json"))

    def start_api(self, env_file: str, port: int) -> None:
        offline = offline_args()
        args = [
            self.sam, "local", "start-api", "--template-file", str(self.build_dir / "template.yaml"),
            "--host", "127.0.0.1", "--port", str(port), "--warm-containers", "EAGER",
            "--docker-network", self.network, "--env-vars", env_file, *offline,
        ]  # fmt: skip
        with self.log_path.open("wb") as out:
            # own session: a Ctrl-C in the terminal reaches us, and we stop SAM in order (see stop_api)
            # SIGINT restored in SAM even when ours is ignored (started in the background): stop_api relies on it
            self.process = subprocess.Popen(
                args, cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )  # fmt: skip
        self.cleanups.append(("sam", self.stop_api))

    def wait_ready(self, port: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                sys.exit(f"sam local start-api exited:\n{self.log_tail()}")
            try:
                if request(port, "GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"sam local start-api not ready in {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.5)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def function_container(self) -> str | None:
        listed = docker("ps", "-q", "--filter", f"network={self.network}").stdout.split()
        for container in listed:
            env = docker("inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", container).stdout.splitlines()
            if f"AWS_LAMBDA_FUNCTION_NAME={FUNCTION}" in env:
                return container
        return None

    def stop_api(self) -> None:
        """Ctrl-C first (SAM then stops its warm containers), then harder."""
        processes.stop(self.process, processes.SAM_STOP, group=True)

    @staticmethod
    def _dangling() -> set[str]:
        return set(docker("images", "-q", "--no-trunc", "--filter", "dangling=true").stdout.split())

    def close(self) -> None:
        # no second Ctrl-C halfway through the cleanup: every step below is bounded by a timeout
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        for name, cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as error:  # keep cleaning up
                log(f"cleanup of {name} failed: {error}")
        self.cleanups.clear()
        # SAM re-tags the function image (runtime + layers) on every start: drop only the images that
        # became dangling during this run; `docker rmi` without -f leaves anything still in use.
        fresh = self._dangling() - self.dangling_before
        if fresh:
            docker("rmi", *sorted(fresh), timeout=120)
        shutil.rmtree(self.workdir, ignore_errors=True)


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = json.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def memory(container: str | None) -> dict[str, float | None]:
    """docker stats' memory usage of the container (cgroup usage without inactive page cache) and the
    runtime process's current and peak RSS (VmRSS, VmHWM of the awslambdaric python)."""
    figures: dict[str, float | None] = {"container_mb": None, "limit_mb": None, "rss_mb": None, "peak_rss_mb": None}
    if container is None:
        return figures
    stats = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", container, timeout=60).stdout.strip()
    if "/" in stats:
        used, limit = stats.split("/", 1)
        figures["container_mb"], figures["limit_mb"] = to_mb(used), to_mb(limit)
    script = (
        "for p in /proc/[0-9]*; do if grep -q awslambdaric $p/cmdline 2>/dev/null; "
        'then grep -E "^(VmRSS|VmHWM):" $p/status; fi; done'
    )
    status = docker("exec", container, "sh", "-c", script, timeout=30).stdout
    for key, name in (("VmRSS", "rss_mb"), ("VmHWM", "peak_rss_mb")):
        found = re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE)
        figures[name] = int(found.group(1)) / 1024 if found else None
    return figures


def measure(
    port: int, count: int, nonce: str, hit_text: str
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[str]]:
    """count requests, interleaved MISS / HIT / health. Client-side ms, function ms, and what went wrong."""
    client: dict[str, list[float]] = {kind: [] for kind in KINDS}
    inside: dict[str, list[float]] = {"MISS": [], "HIT": []}
    problems: list[str] = []
    new_texts = iter(texts(count, nonce))
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        if kind == "health":
            method, path, body = "GET", "/health", None
        else:
            text = next(new_texts) if kind == "MISS" else hit_text
            method, path, body = "POST", "/predict", {"text": text}
        started = time.perf_counter()
        status, headers, raw = request(port, method, path, body)
        client[kind].append((time.perf_counter() - started) * 1000)
        if status != 200:
            problems.append(f"{kind}: HTTP {status} {raw[:200]!r}")
        elif kind != "health":
            if headers.get("x-cache") != kind:
                problems.append(f"{kind}: X-Cache {headers.get('x-cache')}")
            inside[kind].append(float(json.loads(raw)["latency_ms"]))
    return client, inside, problems


def print_memory(label: str, figures: dict[str, float | None]) -> None:
    shown = {key: "n/a" if value is None else f"{value:.0f}" for key, value in figures.items()}
    print(
        f"memory {label:<12} container {shown['container_mb']} MB of {shown['limit_mb']} MB (docker stats), "
        f"runtime RSS {shown['rss_mb']} MB, peak {shown['peak_rss_mb']} MB"
    )


def run(args: argparse.Namespace, sam: str) -> tuple[dict[str, Any], int]:
    started = time.monotonic()
    timings: dict[str, float] = {}
    session = Session(sam)
    try:
        if OFFLINE:  # the stand-in images (no-op when cached), as local/sam-local.sh does
            subprocess.run(["bash", str(ROOT / "local" / "build-standin-image.sh")], cwd=ROOT, check=True)
        mark = time.monotonic()
        log(f"sam build -> {session.build_dir}")
        session.build()
        timings["build_s"] = time.monotonic() - mark

        mark = time.monotonic()
        env_file = session.start_redis()
        port = free_port()
        log(f"Redis {REDIS_IMAGE} on network {session.network}; sam local start-api on :{port}")
        session.start_api(env_file, port)
        session.wait_ready(port)
        timings["ready_s"] = time.monotonic() - mark
        log(f"ready in {timings['ready_s']:.1f} s")

        nonce = uuid.uuid4().hex[:8]  # a fresh Redis anyway; unique texts make MISS certain
        hit_text = f"the same text every time {nonce}"
        mark = time.monotonic()
        request(port, "POST", "/predict", {"text": hit_text})  # from now on a HIT
        _, _, problems = measure(port, args.warmup, f"warm-{nonce}", hit_text)
        timings["warmup_s"] = time.monotonic() - mark
        container = session.function_container()
        after_warmup = memory(container)

        mark = time.monotonic()
        client, inside, run_problems = measure(port, args.requests, nonce, hit_text)
        timings["measure_s"] = time.monotonic() - mark
        after_run = memory(container)
        problems += run_problems
    finally:
        mark = time.monotonic()
        session.close()
        timings["cleanup_s"] = time.monotonic() - mark
    timings["total_s"] = time.monotonic() - started

    latency = {kind: summary(samples) for kind, samples in client.items()}
    function = {kind: summary(samples) for kind, samples in inside.items() if samples}
    print(
        f"\n{'sam local start-api':<20}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'n':>6}"
        f"{'stalls >= 1 s':>15}{'in function p50':>18}"
    )
    for kind, figures in latency.items():
        within = f"{function[kind]['p50']:.2f}" if kind in function else "-"
        print(
            f"{kind:<20}{figures['p50']:>10.2f}{figures['p95']:>10.2f}{figures['p99']:>10.2f}"
            f"{figures['n']:>6}{figures['stalls']:>15}{within:>18}"
        )
    print()
    print_memory("after warm-up", after_warmup)
    print_memory("after run", after_run)
    print(
        f"\n{args.requests} requests in {timings['measure_s']:.1f} s; whole run {timings['total_s']:.1f} s "
        f"(build {timings['build_s']:.1f}, ready {timings['ready_s']:.1f}, warm-up {timings['warmup_s']:.1f}, "
        f"cleanup {timings['cleanup_s']:.1f})"
    )
    for problem in problems[:10]:
        print(f"PROBLEM {problem}")
    report = {
        "latency_ms": latency,
        "function_latency_ms": function,
        "memory_mb": {"after_warmup": after_warmup, "after_run": after_run},
        "requests": args.requests,
        "warmup_requests": args.warmup,
        "problems": len(problems),
        "timings_s": timings,
        "offline_images": OFFLINE,
        "redis_image": REDIS_IMAGE,
        "invoke_image": STANDIN_IMAGE if OFFLINE else "SAM default (public Lambda image)",
    }
    return report, 1 if problems else 0


def write(path: Path | None, report: dict[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="measured requests, a third of each kind")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests first")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    reason = why_skip()
    sam = find_sam()
    if reason is None and sam is None:
        reason = "SAM CLI not found (make venv installs it into .venv-sam)"
    if reason is not None or sam is None:
        print(f"skipped: {reason}")
        write(args.json, {"skipped": reason})
        return 0
    # a plain `kill` (or the terminal closing) cleans up like Ctrl-C does
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))
    try:
        report, code = run(args, sam)
    except KeyboardInterrupt:
        print("\ninterrupted; everything started was stopped", file=sys.stderr)
        return 130
    write(args.json, report)
    return code


if __name__ == "__main__":
    sys.exit(main())
