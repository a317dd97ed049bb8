"""Fixtures for the rollout tests: fake credentials, moto, the world, and an in-process CLI runner."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.rollout.world import FN, REGION, CliResult, World, build_world, fake_aws_env

# The hook is deployed from its own folder (its CodeUri): import it the way Lambda does.
HOOK_DIR = Path(__file__).resolve().parents[2] / "functions" / "deploy_hook"
if str(HOOK_DIR) not in sys.path:
    sys.path.insert(0, str(HOOK_DIR))


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
