"""MiniStack's own configuration (environment variables it reads at import) for this project.

Every value here is an environment variable MiniStack itself reads; nothing is patched to get it.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

DEFAULT_PORT = 4566
# local/build-ministack-image.sh tags the offline Lambda image under this prefix.
OFFLINE_IMAGE_PREFIX = "sentiment-ministack"
# MiniStack labels every container it starts `ministack.instance=<MINISTACK_HOSTNAME>:<port>`.
HOSTNAME = "sentiment-ministack"


def instance_label(port: int) -> str:
    """The docker label filter that selects the containers of the emulator on ``port``."""
    return f"ministack.instance={HOSTNAME}:{port}"


def configure(
    port: int, image_prefix: str | None = None, environ: MutableMapping[str, str] = os.environ
) -> dict[str, str]:
    """Set the emulator's variables in ``environ`` (before ministack is imported) and return them.

    - GATEWAY_PORT / BIND_HOST: one port, loopback only (it answers any AWS API without auth).
    - LAMBDA_EXECUTOR=docker: functions run in the Lambda runtime image with the RIE and every layer
      merged into /opt, as on Lambda. (The default in-process executor does not mount layers at /opt:
      the models layer is missing there and /health answers 503.)
    - MINISTACK_IMAGE_PREFIX (offline only): MiniStack maps runtime python3.13 to
      public.ecr.aws/lambda/python:3.13 and prepends this prefix, which selects the image
      local/build-ministack-image.sh built; with internet, leave it unset and MiniStack pulls the real one.
    - MINISTACK_REGION / MINISTACK_ACCOUNT_ID: the fake account's region and id (the defaults).
    - MINISTACK_HOSTNAME: the host part of the label on its containers (instance_label).
    - LOG_LEVEL: INFO (Lambda cold starts and warnings in the log).
    """
    values = {
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "LAMBDA_EXECUTOR": "docker",
        "MINISTACK_REGION": environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "MINISTACK_ACCOUNT_ID": "000000000000",
        "MINISTACK_HOSTNAME": HOSTNAME,
        "LOG_LEVEL": "INFO",
    }
    if image_prefix:
        values["MINISTACK_IMAGE_PREFIX"] = image_prefix
    environ.update(values)
    return values
