"""One real `sam local start-lambda` per published version, each with that version's environment.

sam local knows no versions: every process runs the template's function as `$LATEST`. A version is
emulated by its own process whose `--env-vars` carry the configuration moto stores for that version.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devsupport import processes
from devsupport.events import rest_event
from devsupport.ports import free_port, wait_for_port
from devsupport.sam import FUNCTION_ID, offline_args, sam_cli
from local.rehearsal.control_plane import CREDENTIALS, ROOT
from local.rehearsal.events import STAGE


@dataclass(frozen=True)
class SamOptions:
    template: Path
    invoke_image: str | None = None  # offline stand-in image (implies --skip-pull-image)
    docker_network: str | None = None  # ours alone, so teardown finds exactly our containers


@dataclass
class Invocation:
    payload: dict[str, Any] | None
    error: str | None  # a function error or a transport failure: the gateway answers 502
    duration_ms: float


def invoke(url: str, event: Mapping[str, Any], timeout: float = 30.0) -> Invocation:
    """The Lambda Invoke API of one start-lambda (no Qualifier: sam local has none)."""
    # S310: the URL is always http://127.0.0.1:<port>, built by the rehearsal itself
    request = urllib.request.Request(  # noqa: S310
        f"{url}/2015-03-31/functions/{FUNCTION_ID}/invocations",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
            body = resp.read()
            function_error = resp.headers.get("X-Amz-Function-Error")
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        return Invocation(None, f"invoke failed: {exc}", (time.perf_counter() - started) * 1000)
    duration_ms = (time.perf_counter() - started) * 1000
    try:
        payload = json.loads(body)
    except ValueError:
        return Invocation(None, f"invalid payload: {body[:200]!r}", duration_ms)
    if function_error or not isinstance(payload, dict):
        return Invocation(None, f"function error ({function_error or 'not an object'}): {body[:300]!r}", duration_ms)
    return Invocation(payload, None, duration_ms)


@dataclass
class LocalLambda:
    """A running `sam local start-lambda` that serves one published version."""

    version: str
    port: int
    env_file: Path
    log_path: Path
    environment: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, environment: Mapping[str, str], options: SamOptions) -> None:
        self.environment = dict(environment)
        # Keyed by logical id: only this function gets these values. sam honours only declared variables.
        self.env_file.write_text(json.dumps({FUNCTION_ID: dict(environment)}, indent=2))
        command = [
            sam_cli(),
            "local",
            "start-lambda",
            "--template",
            str(options.template),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--env-vars",
            str(self.env_file),
            "--warm-containers",
            "EAGER",  # one container per version, started now: ~20 ms per warm request
            "--no-watch",  # no file watcher threads: CPU is shared
            # sam local counts the cold init (imports, model load) against the first invoke's timeout,
            # where Lambda gives init its own budget; on a busy 2-core machine 15 s was not enough.
            "--parameter-overrides",
            "FunctionTimeout=29",
        ]
        if options.invoke_image:
            command += offline_args(options.invoke_image)
        if options.docker_network:
            command += ["--docker-network", options.docker_network]
        env = {
            **os.environ,
            **CREDENTIALS,  # sam passes credentials into the container; never an operator's real ones
            "SAM_CLI_TELEMETRY": "0",  # loopback only
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float) -> None:
        """Listening, and a GET /health through the real function answers 200 (models loaded)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        wait_for_port(self.port, self.process, f"start-lambda for version {self.version}", timeout)
        event = rest_event("GET", "/health", stage=STAGE)
        last = "no answer"
        while time.monotonic() < deadline:
            result = invoke(self.url, event, timeout=max(1.0, deadline - time.monotonic()))
            if result.payload is not None and result.payload.get("statusCode") == 200:
                return
            last = result.error or f"HTTP {result.payload and result.payload.get('statusCode')}"
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise RuntimeError(f"version {self.version} not healthy ({last}); see {self.log_path}")

    def stop(self, timeout: float = 30.0) -> None:
        # SIGTERM: sam stops and removes its warm container itself; SIGKILL only as a last resort.
        if self.process is None:
            return
        processes.stop(self.process, ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)))
        release_build_lock(self.process.pid)
        self.process = None


def release_build_lock(pid: int) -> None:
    """Release the image-build lock a stopped sam process may still hold.

    sam local (1.170) serialises image builds across processes with a lock file in the temp folder that
    holds the builder's pid; a sam stopped mid-build leaves it behind, and every later `sam local` (any
    project on the machine) then waits up to 5 minutes for it (seen: 194 s). Only our own pid's lock.
    """
    for lock in Path(tempfile.gettempdir()).glob("*.building.lock"):
        try:
            if lock.read_text().split("\n", 1)[0].strip() != str(pid):
                continue
            # "failed": a waiter then builds the image itself instead of trusting a half-built one
            lock.with_suffix(".status").write_text(f"failed\n{time.time()}")
            lock.unlink()
        except OSError:
            continue


def new_local_lambda(version: str, workdir: Path) -> LocalLambda:
    return LocalLambda(
        version=version,
        port=free_port(),
        env_file=workdir / f"env-version-{version}.json",
        log_path=workdir / f"sam-version-{version}.log",
    )
