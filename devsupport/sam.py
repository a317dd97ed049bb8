"""The SAM CLI as the tests, benchmarks and rehearsal run it: where it is, its environment, offline images."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from devsupport import ROOT

TRUE = {"1", "true", "yes"}
# Offline (no registry, e.g. CI here; set by .ci/docker-up.sh): the stand-in images local/build-standin-image.sh builds.
OFFLINE = os.environ.get("SAM_LOCAL_OFFLINE", "").lower() in TRUE
STANDIN_IMAGE = os.environ.get("STANDIN_IMAGE", "sentiment-standin/python:3.13-x86_64")
REDIS_IMAGE = os.environ.get("REDIS_IMAGE", "sentiment-standin/redis:trixie" if OFFLINE else "valkey/valkey:8-alpine")
FUNCTION_ID = "InferenceFunction"  # logical id in template.yaml


def find_sam() -> str | None:
    """SAM CLI: $SAM_CLI, `sam` on PATH, or the project's .venv-sam; None if there is none."""
    candidates = (os.environ.get("SAM_CLI"), shutil.which("sam"), str(ROOT / ".venv-sam" / "bin" / "sam"))
    return next((c for c in candidates if c and Path(c).is_file()), None)


def sam_cli() -> str:
    """find_sam(), or an error that says how to get it."""
    sam = find_sam()
    if sam is None:
        raise RuntimeError("SAM CLI not found: run `make venv` (creates .venv-sam) or set SAM_CLI")
    return sam


def sam_env(tmpdir: Path | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a SAM process: no telemetry, a region, python3.13 (the project venv) for `sam build`.

    ``tmpdir``: SAM coordinates image builds with lock files in the temp folder, shared by every SAM process
    on the machine; a lock left by a killed process elsewhere stalls an invoke for 5 minutes. A private one
    avoids that."""
    env = dict(os.environ if base is None else base)
    env["SAM_CLI_TELEMETRY"] = "0"
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if tmpdir is not None:
        tmpdir.mkdir(parents=True, exist_ok=True)
        env["TMPDIR"] = str(tmpdir)
    venv_bin = ROOT / ".venv" / "bin"
    if venv_bin.is_dir():
        env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    return env


def offline_args(image: str | None = None) -> list[str]:
    """`sam local` arguments that run the function in the stand-in image (offline), else none."""
    if image is None and not OFFLINE:
        return []
    return ["--invoke-image", image or STANDIN_IMAGE, "--skip-pull-image"]
