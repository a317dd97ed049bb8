"""Start and stop the launcher (`python -m local.ministack`) from another process, e.g. the tests.

Standard library only: the caller runs in the project's virtualenv, the emulator in .venv-ministack.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from devsupport import processes
from local.ministack import settings

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv-ministack" / "bin" / "python"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def start(
    port: int,
    log: Path,
    tmpdir: Path,
    image_prefix: str | None = None,
    python: Path = VENV_PYTHON,
    timeout: float = 60,
) -> Server:
    """Start the emulator on 127.0.0.1:``port`` and wait until it answers its health check.

    ``tmpdir`` becomes its TMPDIR: MiniStack extracts function code and layers there (hundreds of MB
    here), so the caller removes it afterwards."""
    tmpdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"TMPDIR": str(tmpdir)}
    args = [str(python), "-m", "local.ministack", "--port", str(port)]
    if image_prefix:
        args += ["--lambda-image-prefix", image_prefix]
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    server = Server(process=process, port=port, log=log)
    deadline = time.monotonic() + timeout
    while not _healthy(server):
        if process.poll() is not None:
            raise RuntimeError(f"ministack exited with {process.returncode}:\n{server.log_tail()}")
        if time.monotonic() > deadline:
            stop(server)
            raise RuntimeError(f"ministack not ready in {timeout:.0f} s:\n{server.log_tail()}")
        time.sleep(0.3)
    return server


def _healthy(server: Server) -> bool:
    try:
        # S310: always http://127.0.0.1:<port>, built here
        with urllib.request.urlopen(f"{server.endpoint}/_ministack/health", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def stop(server: Server) -> list[str]:
    """SIGTERM (MiniStack's shutdown removes the Lambda containers it started), then SIGKILL if needed.

    Returns the ids of containers it still left behind, after removing them."""
    processes.stop(server.process, processes.TERMINATE_THEN_KILL, group=True)
    label = settings.instance_label(server.port)
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True, timeout=60, check=False
    )
    leftovers = listed.stdout.split()
    if leftovers:
        subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True, timeout=120, check=False)
    return leftovers
