"""Stopping a child process politely, then firmly: shared by the local tools, benchmarks and tests."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence

# Terminate, then kill: enough for a process that cleans up on SIGTERM.
TERMINATE_THEN_KILL: tuple[tuple[signal.Signals, float], ...] = ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0))
# sam local start-api: on Ctrl-C SAM stops and removes its warm containers itself; harder signals only after.
SAM_STOP: tuple[tuple[signal.Signals, float], ...] = (
    (signal.SIGINT, 20.0),
    (signal.SIGTERM, 15.0),
    (signal.SIGKILL, 15.0),
)


def stop(
    process: subprocess.Popen | None,
    steps: Sequence[tuple[signal.Signals, float]] = TERMINATE_THEN_KILL,
    group: bool = False,
) -> None:
    """Send each signal in turn, waiting up to its seconds, until the process has exited.

    ``group``: signal the process group (a process started with ``start_new_session=True``), so
    children such as moto_server or SAM's container helpers get the signal too.
    """
    for sig, wait in steps:
        if process is None or process.poll() is not None:
            return
        try:
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
