"""Docker for `sam local`: is the engine there, and Redis on a docker network that the function containers join.

The one way Redis is started for `sam local` (tests/e2e, bench/sam_local.py, local/sam-local.sh through
``python -m devsupport.docker redis``): function containers reach it as redis://<container>:6379/0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devsupport import ROOT
from devsupport.sam import REDIS_IMAGE

ENV_TEMPLATE = ROOT / "local" / "env.redis.json"  # `sam local --env-vars` with the Redis variables


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


def docker_problem() -> str | None:
    """Why Docker cannot be used here, or None when the engine answers."""
    if shutil.which("docker") is None:
        return "docker CLI not installed"
    try:
        if docker("info", "--format", "{{.ServerVersion}}", timeout=20).returncode == 0:
            return None
    except subprocess.TimeoutExpired:
        pass
    return "Docker engine not reachable (docker info failed)"


def image_exists(image: str) -> bool:
    return docker("image", "inspect", image, timeout=20).returncode == 0


def start_redis(network: str, container: str, image: str = REDIS_IMAGE, keep: bool = False) -> str:
    """Redis in ``container`` on ``network`` (both created if missing; a running one is reused), answering PING.

    ``keep``: a long-lived container (no --rm), as `make sam-local` leaves for the next run.
    Returns its URL as the function containers see it. RuntimeError if it cannot be started."""
    if docker("network", "inspect", network, timeout=30).returncode != 0:
        created = docker("network", "create", network, timeout=30)
        if created.returncode != 0:
            raise RuntimeError(f"docker network create {network} failed: {created.stderr.strip()}")
    if docker("inspect", "-f", "{{.State.Running}}", container, timeout=30).stdout.strip() != "true":
        docker("rm", "-f", container, timeout=60)
        # the stand-in image's default command is redis-server; valkey images start valkey-server
        started = docker("run", "-d", *([] if keep else ["--rm"]), "--name", container, "--network", network, image,
                         timeout=120)  # fmt: skip
        if started.returncode != 0:
            raise RuntimeError(f"cannot start Redis image {image}: {started.stderr.strip()[-300:]}")
    cli = "valkey-cli" if "valkey" in image else "redis-cli"
    deadline = time.monotonic() + 30
    while docker("exec", container, cli, "ping", timeout=10).stdout.strip() != "PONG":
        if time.monotonic() > deadline:
            raise RuntimeError(f"Redis container {container} did not answer PING within 30 s")
        time.sleep(0.3)
    return f"redis://{container}:6379/0"


def env_file(redis_url: str, target: Path) -> Path:
    """local/env.redis.json with ``redis_url``, written to ``target`` (for `sam local --env-vars`)."""
    values = json.loads(ENV_TEMPLATE.read_text())
    values["Parameters"]["REDIS_URL"] = redis_url
    target.write_text(json.dumps(values))
    return target


def remove_network(network: str) -> None:
    """Every container on the network (Redis, any function container SAM left behind), then the network."""
    attached = docker("ps", "-aq", "--filter", f"network={network}", timeout=30).stdout.split()
    if attached:
        docker("rm", "-f", *attached, timeout=120)
    docker("network", "rm", network, timeout=30)


@dataclass
class RedisNetwork:
    network: str
    redis_host: str
    env_file: Path


@contextmanager
def redis_network(name: str, workdir: Path, image: str = REDIS_IMAGE) -> Iterator[RedisNetwork]:
    """A private network ``name`` with Redis on it and a matching env file; all of it removed on exit."""
    try:
        redis_host = f"{name}-redis"
        url = start_redis(name, redis_host, image)
        yield RedisNetwork(name, redis_host, env_file(url, workdir / "env.json"))
    finally:
        remove_network(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devsupport.docker", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    redis = commands.add_parser("redis", help="start (or reuse) a long-lived Redis container; prints its URL")
    redis.add_argument("--network", default="sentiment-local")
    redis.add_argument("--container", default="sentiment-redis")
    redis.add_argument("--image", default=REDIS_IMAGE)
    args = parser.parse_args(argv)
    problem = docker_problem()
    if problem:
        raise SystemExit(f"{problem} (as root without systemd: local/start-docker.sh)")
    try:
        print(start_redis(args.network, args.container, args.image, keep=True))
    except RuntimeError as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()
