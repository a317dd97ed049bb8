"""bench/load.py, run small: the local server under concurrent clients answers every request correctly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

LOAD = ROOT / "bench" / "load.py"


def run_load(*args: str) -> tuple[int, dict[str, Any], str]:
    completed = subprocess.run(
        [sys.executable, str(LOAD), *args], capture_output=True, text=True, timeout=180, cwd=ROOT, check=False
    )
    results = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    summary = json.loads(results[-1].removeprefix("RESULT ")) if results else {}
    return completed.returncode, summary, completed.stdout + completed.stderr


@pytest.mark.redis
def test_small_load_run_has_zero_errors(committed_models: Path, redis_server):
    code, summary, output = run_load(
        "--clients", "4", "--requests", "50", "--models-dir", str(committed_models), "--redis-url", redis_server.url
    )
    assert code == 0, output
    assert summary["requests"] == 200 and summary["errors"] == 0, output
    # Answers were checked, not just counted: every one carried a cache outcome and a version.
    assert sum(summary["cache"].values()) >= 200 and summary["cache"].get("HIT", 0) > 0
    assert set(summary["versions"]) == {"v1", "v2"}
    assert summary["p50_ms"] <= summary["p99_ms"]
    assert redis_server.client().dbsize() > 0  # the server really used the given Redis


def test_load_run_fails_when_the_server_cannot_answer(tmp_path: Path):
    # The default version's folder is there but holds no model: every /predict is a 503. The script must
    # say so and exit non-zero. (With no folder at all the server would not start: a configuration error.)
    (tmp_path / "v1").mkdir()
    code, summary, output = run_load("--clients", "2", "--requests", "5", "--models-dir", str(tmp_path))
    assert code == 1, output
    assert summary["errors"] == 10 and summary["error_kinds"] == {"http_503": 10}


def test_load_refuses_non_loopback_targets():
    code, _, output = run_load("--url", "http://192.0.2.10:8000", "--clients", "1", "--requests", "1")
    assert code != 0 and "loopback" in output
