"""The local rehearsal of the `live` alias rollout (local/rehearsal): the operator CLI moves the weights in
moto, the gateway stand-in follows them, and the observed split matches within a binomial tolerance.

- Fast tests (no Docker): the router's weight semantics and the whole loop with moto_server and two fake
  start-lambda endpoints.
- e2e (`-m e2e`): `python -m local.rehearsal up` for real: moto_server, one `sam local start-lambda` per
  version (stand-in image when SAM_LOCAL_OFFLINE=1), the gateway; then canary -> rollback -> promote.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from local.rehearsal.control_plane import ALIAS, CREDENTIALS, FUNCTION_NAME, ControlPlane, version_environments
from local.rehearsal.gateway import AliasRouter, Gateway
from local.rehearsal.traffic import Served, binomial_tolerance, send
from tests.conftest import rollout_cli
from tests.e2e.conftest import ROOT
from tools.rollout.aliases import Routing

CANARY = 0.30


# ------------------------------------------------------------------------------------------------
# helpers shared by both kinds of test
# ------------------------------------------------------------------------------------------------
def rollout(cli_args: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The operator CLI as an operator runs it, pointed at the rehearsal's moto_server."""
    return rollout_cli(*cli_args, *args, env=CREDENTIALS)


def change(cli_args: list[str], *args: str, routing_ttl: float = 0.5) -> None:
    result = rollout(cli_args, *args)
    assert result.returncode == 0, f"rollout {args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    time.sleep(routing_ttl + 0.5)  # the gateway re-reads the alias at most every routing_ttl seconds


def assert_all_served_by(served: list[Served], version: str, models: dict[str, str]) -> None:
    assert all(s.status == 200 for s in served), Counter(s.status for s in served)
    assert Counter(s.version for s in served) == {version: len(served)}
    assert {s.model_version for s in served} == {models[version]}


def assert_split(served: list[Served], canary: str, weight: float, models: dict[str, str]) -> float:
    """Observed canary share within 4 binomial sigmas of its weight; every answer from its own configuration."""
    assert all(s.status == 200 for s in served), Counter(s.status for s in served)
    assert all(s.model_version == models[s.version or ""] for s in served), Counter(
        (s.version, s.model_version) for s in served
    )
    share = sum(1 for s in served if s.version == canary) / len(served)
    tolerance = binomial_tolerance(len(served), weight)
    assert abs(share - weight) <= tolerance, f"canary share {share:.3f}, expected {weight} +- {tolerance:.3f}"
    return share


# ------------------------------------------------------------------------------------------------
# fast: no Docker
# ------------------------------------------------------------------------------------------------
def test_router_gives_each_additional_version_its_weight() -> None:
    routing = Routing(primary="1", weights={"2": CANARY})
    router = AliasRouter(lambda: routing, rng=random.Random(7))
    picks = Counter(router.pick() for _ in range(20_000))
    assert set(picks) == {"1", "2"}
    assert abs(picks["2"] / 20_000 - CANARY) <= binomial_tolerance(20_000, CANARY)

    only_primary = AliasRouter(lambda: Routing(primary="3"))
    assert {only_primary.pick() for _ in range(200)} == {"3"}


def test_router_rereads_the_alias_at_most_every_ttl() -> None:
    reads: list[float] = []

    def read() -> Routing:
        reads.append(time.monotonic())
        return Routing(primary="1")

    router = AliasRouter(read, ttl=0.2)
    for _ in range(50):
        router.pick()
    assert len(reads) == 1
    time.sleep(0.25)
    router.pick()
    assert len(reads) == 2


class _FakeStartLambda:
    """Answers the Lambda Invoke API like `sam local start-lambda` with the app: the model its env names."""

    def __init__(self, model: str) -> None:
        model_version = model

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert event["httpMethod"] == "POST" and event["path"] == "/predict"
                assert event["requestContext"]["requestId"]
                body = {"model_version": model_version, "function_version": "$LATEST", "echo": event["body"]}
                payload = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
                raw = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_loop_with_moto_and_fake_lambdas(tmp_path: Path) -> None:
    """The CLI changes the weights in moto_server; the gateway's observed split follows. No Docker."""
    models = {"1": "v1", "2": "v2"}
    plane = ControlPlane()
    plane.start(tmp_path / "moto.log")
    fakes = {version: _FakeStartLambda(model) for version, model in models.items()}
    gateway = Gateway(
        AliasRouter.for_alias(plane.client("lambda"), FUNCTION_NAME, ALIAS, ttl=0.2),
        {version: fake.url for version, fake in fakes.items()},
    )
    try:
        plane.seed(version_environments(list(models.values())))
        assert {v: plane.version_environment(v)["DEFAULT_MODEL_VERSION"] for v in models} == models
        gateway.start()
        cli = plane.cli_arguments()

        assert_all_served_by(send(gateway.url, 100), "1", models)
        change(cli, "canary", "--version", "2", "--percent", "30", routing_ttl=0.2)
        assert_split(send(gateway.url, 600), "2", CANARY, models)
        change(cli, "promote", routing_ttl=0.2)
        assert_all_served_by(send(gateway.url, 100), "2", models)

        # a version published after the rehearsal started has no start-lambda: 502, still naming the version
        lam = plane.client("lambda")
        v3 = version_environments(["v1", "v2", "v3"])["3"]
        lam.update_function_configuration(FunctionName=FUNCTION_NAME, Environment={"Variables": v3})
        assert lam.publish_version(FunctionName=FUNCTION_NAME)["Version"] == "3"
        lam.update_alias(FunctionName=FUNCTION_NAME, Name=ALIAS, FunctionVersion="3")
        time.sleep(0.3)
        (answer,) = send(gateway.url, 1)
        assert (answer.status, answer.version) == (502, "3")
    finally:
        gateway.stop()
        for fake in fakes.values():
            fake.close()
        plane.stop()


# ------------------------------------------------------------------------------------------------
# e2e: the real rehearsal (sam local start-lambda per version, Docker)
# ------------------------------------------------------------------------------------------------
@dataclass
class Running:
    info: dict[str, Any]
    models: dict[str, str]  # published version -> DEFAULT_MODEL_VERSION of its configuration
    cli: list[str]
    log: Path

    @property
    def gateway(self) -> str:
        return str(self.info["gateway"])


def _docker_lines(*args: str) -> list[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.split()


@pytest.fixture(scope="module")
def rehearsal(sam_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`python -m local.rehearsal up` as a developer runs it; SIGTERM at the end, then nothing may be left."""
    workdir = tmp_path_factory.mktemp("rehearsal")
    ready_file = workdir / "ready.json"
    network = f"sentiment-rehearsal-e2e-{os.getpid()}"
    log = workdir / "up.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.rehearsal", "up", "--workdir", str(workdir),
             "--ready-file", str(ready_file), "--docker-network", network],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not ready_file.exists():
            assert process.poll() is None, f"rehearsal exited {process.returncode}:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"rehearsal not ready in 300 s:\n{log.read_text()[-4000:]}"
            time.sleep(0.5)
        info = json.loads(ready_file.read_text())
        print(f"\n[e2e] rehearsal ready in {time.monotonic() - started:.1f} s ({info['startup_seconds']} s inside)")
        models = {v: d["environment"]["DEFAULT_MODEL_VERSION"] for v, d in info["versions"].items()}
        yield Running(info=info, models=models, cli=info["rollout_cli_args"], log=log)
    finally:
        stopping = time.monotonic()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # `up` tears down in order: gateway, sam (containers), moto
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything of its group still alive (sam, moto_server)
        print(f"[e2e] rehearsal stopped in {time.monotonic() - stopping:.1f} s")
        leftovers = _docker_lines("ps", "-aq", "--filter", f"network={network}")
        if leftovers:
            subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True, timeout=120, check=False)
        networks = _docker_lines("network", "ls", "-q", "--filter", f"name={network}")
        if networks:
            subprocess.run(["docker", "network", "rm", network], capture_output=True, timeout=60, check=False)
        assert not leftovers and not networks, f"rehearsal left containers {leftovers} / network {networks}"


@pytest.mark.e2e
def test_rehearsal_split_follows_the_operator_cli(rehearsal: Running) -> None:
    models, cli = rehearsal.models, rehearsal.cli
    assert models == {"1": "v1", "2": "v2"}
    phases: dict[str, float] = {}

    def timed(name: str, count: int) -> list[Served]:
        started = time.monotonic()
        served = send(rehearsal.gateway, count)
        phases[name] = time.monotonic() - started
        return served

    # weight 0: the alias points at version 1 only
    served = timed("live=1", 150)
    assert_all_served_by(served, "1", models)
    # sam local cannot tell versions apart: the function says $LATEST, the gateway's header is the truth
    assert {s.function_version for s in served} == {"$LATEST"}

    change(cli, "canary", "--version", "2", "--percent", "30")
    status = rollout(cli, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert [(v["version"], v["weight"], v["model_version"]) for v in json.loads(status.stdout)["versions"]] == [
        ("1", pytest.approx(0.7), "v1"),
        ("2", pytest.approx(0.3), "v2"),
    ]
    share = assert_split(timed("canary 30%", 400), "2", CANARY, models)

    change(cli, "rollback")
    assert_all_served_by(timed("rollback", 100), "1", models)

    change(cli, "canary", "--version", "2", "--percent", "30")
    change(cli, "promote")
    assert_all_served_by(timed("promote", 100), "2", models)
    # nothing left to roll back after a promote: a no-op, and version 2 keeps serving
    nothing = rollout(cli, "rollback", "--json")
    assert nothing.returncode == 0 and json.loads(nothing.stdout)["changed"] is False, nothing.stdout

    print(f"[e2e] observed canary share {share:.3f} (weight {CANARY}); phases: " +
          ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))  # fmt: skip
