"""A real redis-server on a free loopback port, for the tests and the benchmarks (never shipped)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from devsupport.ports import free_port, wait_for_port


class RedisServer:
    """A real redis-server on a free loopback port that a test can stop and start again."""

    def __init__(self, workdir: Path, extra_args: list[str] | None = None, port: int | None = None) -> None:
        self.binary = shutil.which("redis-server")
        self.workdir = workdir
        self.port = port or free_port()
        self.extra_args = extra_args or []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.binary is not None
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [*args, "--dir", str(self.workdir), *self.extra_args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process, "redis-server", timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)
