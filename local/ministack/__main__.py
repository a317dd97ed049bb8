"""Start MiniStack for this project: `.venv-ministack/bin/python -m local.ministack --port 4566`.

Run from the repository root with .venv-ministack's interpreter (ministack is installed only there).
In order: the emulator's settings (settings.py, before ministack reads them at import), the version
check and patches (patches.py), the CodeDeploy no-op handlers (codedeploy.py) added to MiniStack's
CloudFormation resource registry, then MiniStack's own main() in this process until SIGTERM/Ctrl-C
(its shutdown removes the Lambda containers it started).
"""

from __future__ import annotations

import argparse
import sys

from local.ministack import codedeploy, patches, settings


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.ministack", description=__doc__)
    parser.add_argument("--port", type=int, default=settings.DEFAULT_PORT, help="gateway port on 127.0.0.1")
    parser.add_argument(
        "--lambda-image-prefix",
        default=None,
        help=f"offline: the prefix of the image local/build-ministack-image.sh built ({settings.OFFLINE_IMAGE_PREFIX})",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    settings.configure(args.port, args.lambda_image_prefix)
    try:
        patches.apply_all()
    except patches.UnsupportedVersion as error:
        sys.exit(f"[ministack] {error}")

    from ministack import app
    from ministack.services.cloudformation import provisioners

    # MiniStack's registry of CloudFormation resource types (type -> create/update/delete handlers).
    provisioners._RESOURCE_HANDLERS.update(codedeploy.handlers())
    sys.argv = [sys.argv[0]]  # ministack's own argument parser must not see ours
    app.main()


if __name__ == "__main__":
    main(sys.argv[1:])
