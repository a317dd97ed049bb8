"""Loopback ports: a free one, and waiting until a child process listens on one."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Any

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, proc: subprocess.Popen[Any] | None, what: str, timeout: float, host: str = LOOPBACK
) -> None:
    """Until ``host:port`` accepts a connection; fails early if ``proc`` exits, and after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{what} exited with code {proc.returncode} before listening") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not listen on {host}:{port} within {timeout:.0f} s") from None
            time.sleep(0.05)
