"""Fixtures for the rollout tests: fake credentials, moto, the world, and an in-process CLI runner."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.rollout.world import FN, REGION, CliResult, World, build_world, fake_aws_env

# The hook is deployed from its own folder (its CodeUri) as the top-level module `pretraffic`, as Lambda
# imports it; it is not part of the installed project, so it is loaded from its file under that name.
HOOK_FILE = Path(__file__).resolve().parents[2] / "functions" / "deploy_hook" / "pretraffic.py"
if "pretraffic" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("pretraffic", HOOK_FILE)
    assert _spec is not None and _spec.loader is not None
    sys.modules["pretraffic"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["pretraffic"])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake_aws_env(monkeypatch)
    with mock_aws():
        yield


@pytest.fixture
def world(aws: None) -> World:
    return build_world(lambda name: boto3.client(name, region_name=REGION))


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run the CLI in-process against the active moto mock."""
    from tools.rollout.cli import main

    def invoke(*args: str, session: boto3.Session | None = None) -> CliResult:
        code = main(["--function-name", FN, *args], session=session)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
