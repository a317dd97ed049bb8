"""Shared fixtures: the committed models, a real redis-server, and app/handler builders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devsupport.logs import point_service_logs_at
from devsupport.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "layers" / "models" / "models"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def require(condition: bool, reason: str) -> None:
    """Skip on a developer's machine, but fail under CI: a missing prerequisite is not a pass."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing under CI: {reason}")
    pytest.skip(reason)


def rollout_cli(
    *args: str, env: Mapping[str, str], unset: Collection[str] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m tools.rollout ARGS`` in a process of its own, as an operator runs it, from the repository root.

    Its environment is this one without any AWS_* variable (nothing of the machine's AWS setup) and without the
    variables in ``unset``, plus ``env``.
    """
    kept = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in unset}
    environment = kept | dict(env)
    return subprocess.run(
        [sys.executable, "-m", "tools.rollout", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def running_redis(workdir: Path, *extra_args: str) -> Iterator[RedisServer]:
    """A RedisServer started with ``extra_args`` (e.g. "--requirepass", PASSWORD), stopped on leaving."""
    require(shutil.which("redis-server") is not None, "redis-server not installed (apt-get install redis-server)")
    server = RedisServer(workdir, extra_args=list(extra_args))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


@pytest.fixture(scope="session")
def committed_models() -> Path:
    require((MODELS_DIR / "v1" / "manifest.json").is_file(), f"no committed models under {MODELS_DIR}")
    return MODELS_DIR


@pytest.fixture
def models_copy(committed_models: Path, tmp_path: Path) -> Path:
    """A private copy of the committed models that a test may break."""
    target = tmp_path / "models"
    shutil.copytree(committed_models, target)
    return target


def settings_env(models_dir: Path, **overrides: str) -> dict[str, str]:
    # REDIS_TIMEOUT_MS is a total budget that also counts this process's own pauses (GC, a busy test
    # machine): tests that are not about the deadline get a generous one; deadline tests set theirs.
    env = {"MODELS_DIR": str(models_dir), "DEFAULT_MODEL_VERSION": "v1", "REDIS_TIMEOUT_MS": "1000"}
    env.update(overrides)
    return env


@pytest.fixture
def make_client(committed_models: Path) -> Callable[..., Any]:
    """Build the real app (same composition as Lambda) with a given environment."""
    from fastapi.testclient import TestClient

    from serving.bootstrap import build_app
    from serving.config import load_settings

    def build(models_dir: Path | None = None, **env: str) -> TestClient:
        settings = load_settings(settings_env(models_dir or committed_models, **env))
        return TestClient(build_app(settings))

    return build


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch, committed_models: Path) -> Callable[..., Any]:
    """Import serving.handler afresh under a given environment (it composes the app at import)."""

    def load(**env: str) -> Any:
        from aws_lambda_powertools.logging import logger as powertools_logger

        for key, value in settings_env(committed_models, **env).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(powertools_logger, "is_cold_start", True)  # a fresh instance: its first call is cold
        sys.modules.pop("serving.handler", None)
        import serving.handler

        return serving.handler

    return load


class FakeLambdaContext:
    function_name = "sentiment-inference"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sentiment-inference"
    memory_limit_in_mb = 1024
    aws_request_id = "lambda-request-0001"
    log_group_name = "/aws/lambda/sentiment-inference"
    log_stream_name = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of captured stdout that is a JSON object (logs and EMF documents)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    """Metrics are module-level (as in Lambda); start and end every test with an empty set."""
    from serving.observability import metrics

    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


class _CurrentStdout:
    """A stream that writes wherever sys.stdout points now (pytest swaps it per test phase)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def log_to_current_stdout() -> None:
    """Point the service logger's handler at "current stdout": Powertools keeps the stream it was created with."""
    point_service_logs_at(_CurrentStdout())


@pytest.fixture
def service_output(capsys: pytest.CaptureFixture[str]) -> Callable[[], str]:
    """What the service printed during the test: Powertools log lines and EMF documents.

    The logger's handler keeps the stream it was created with; point it at "current stdout".
    """
    log_to_current_stdout()
    return lambda: capsys.readouterr().out
