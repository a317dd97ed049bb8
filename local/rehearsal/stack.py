"""The whole rehearsal, started and stopped as one: control plane, one start-lambda per version, gateway."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from devsupport.docker import docker
from devsupport.docker import remove_network as remove_docker_network
from devsupport.sam import OFFLINE, STANDIN_IMAGE, sam_cli, sam_env
from local.rehearsal.control_plane import ALIAS, FUNCTION_NAME, ROOT, ControlPlane, version_environments
from local.rehearsal.gateway import AliasRouter, Gateway
from local.rehearsal.lambdas import LocalLambda, SamOptions, new_local_lambda
from local.rehearsal.metrics import LambdaMetrics

BUILD_DIR = ROOT / ".aws-sam" / "build"
BUILT_TEMPLATE = BUILD_DIR / "template.yaml"


@dataclass
class Options:
    workdir: Path
    models: Sequence[str] = ("v1", "v2")  # version N serves models[N-1] by default
    template: Path = BUILT_TEMPLATE
    invoke_image: str | None = STANDIN_IMAGE if OFFLINE else None
    docker_network: str = field(default_factory=lambda: f"sentiment-rehearsal-{uuid.uuid4().hex[:8]}")
    gateway_port: int = 0
    routing_ttl: float = 0.5  # how stale the gateway's view of the alias may be (AWS: a few seconds)
    startup_timeout: float = 300.0


def sam_build(log_path: Path) -> None:
    """`sam build` as a developer runs it (samconfig.toml [default]); python3.13 from the project venv."""
    env = sam_env()
    with log_path.open("ab") as log:
        done = subprocess.run(
            [sam_cli(), "build"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"sam build failed; see {log_path}")


def snapshot_build(source: Path, target: Path) -> Path:
    """A private copy of `sam build`'s output; returns its template (paths in it are relative).

    sam local mounts the function's build folder into the running container and bakes the layers into
    its image at start: a `sam build` by anyone else during the rehearsal would change what runs.
    A real copy, not hard links: a rebuild may rewrite files in place.
    """
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)
    return target / "template.yaml"


def check_models(template: Path, models: Sequence[str]) -> None:
    """Every model a version will serve by default must be in the build (the models layer)."""
    missing = [m for m in models if not any(template.parent.glob(f"*/models/{m}/manifest.json"))]
    if missing:
        raise RuntimeError(
            f"model(s) {', '.join(missing)} not in {template.parent}: train them (make models), then `sam build`"
        )


class Rehearsal:
    """Start with ``with Rehearsal(options) as r:``; everything started is stopped on exit, in reverse."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.control_plane = ControlPlane()
        self.lambdas: dict[str, LocalLambda] = {}
        self.gateway: Gateway | None = None
        self.startup_seconds: float | None = None
        self.ready_seconds: dict[str, float] = {}  # per version: sam start, image build, first /health
        self._stack = ExitStack()

    def __enter__(self) -> Rehearsal:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()

    def start(self) -> None:
        opts = self.options
        started = time.monotonic()
        if not opts.template.is_file():
            raise RuntimeError(f"{opts.template} missing: run `sam build` first (or `up --build`)")
        check_models(opts.template, opts.models)
        opts.workdir.mkdir(parents=True, exist_ok=True)

        created = docker("network", "create", opts.docker_network)
        if created.returncode != 0:
            raise RuntimeError(f"docker network create {opts.docker_network}: {created.stderr.strip()}")
        self._stack.callback(remove_docker_network, opts.docker_network)

        self._stack.callback(self.control_plane.stop)
        self.control_plane.start(opts.workdir / "moto_server.log")
        self.control_plane.seed(version_environments(opts.models))

        # One version after the other: concurrent sam processes race to build the same derived image
        # and a container start then failed ("current working directory is outside of container mount
        # namespace root"); once the image exists the next version starts in a few seconds.
        sam = SamOptions(template=opts.template, invoke_image=opts.invoke_image, docker_network=opts.docker_network)
        for version in (str(i) for i in range(1, len(opts.models) + 1)):
            local = new_local_lambda(version, opts.workdir)
            self._stack.callback(local.stop)
            version_started = time.monotonic()
            local.start(self.control_plane.version_environment(version), sam)
            self.lambdas[version] = local
            local.wait_ready(max(1.0, opts.startup_timeout - (time.monotonic() - started)))
            self.ready_seconds[version] = round(time.monotonic() - version_started, 1)

        metrics = LambdaMetrics(self.control_plane.client("cloudwatch"), FUNCTION_NAME, ALIAS)
        metrics.start()
        self._stack.callback(metrics.stop)
        router = AliasRouter.for_alias(self.control_plane.client("lambda"), FUNCTION_NAME, ALIAS, ttl=opts.routing_ttl)
        endpoints = {version: local.url for version, local in self.lambdas.items()}
        self.gateway = Gateway(router, endpoints, metrics, port=opts.gateway_port)
        self.gateway.start()
        self._stack.callback(self.gateway.stop)
        self.startup_seconds = time.monotonic() - started

    def stop(self) -> None:
        self._stack.close()

    def describe(self) -> dict[str, Any]:
        """What a script needs to drive the rehearsal (also written as the --ready-file)."""
        assert self.gateway is not None
        return {
            "gateway": self.gateway.url,
            "control_plane": self.control_plane.endpoint,
            "function_name": FUNCTION_NAME,
            "alias": ALIAS,
            "rollout_cli_args": self.control_plane.cli_arguments(),
            "versions": {
                v: {
                    "start_lambda": local.url,
                    "environment": local.environment,
                    "ready_seconds": self.ready_seconds.get(v),
                    "log": str(local.log_path),
                }
                for v, local in self.lambdas.items()
            },
            "docker_network": self.options.docker_network,
            "offline_image": self.options.invoke_image,
            "workdir": str(self.options.workdir),
            "startup_seconds": round(self.startup_seconds or 0.0, 1),
            "pid": os.getpid(),
        }
