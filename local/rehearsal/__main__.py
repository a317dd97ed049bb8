"""python -m local.rehearsal up | sample

up      start moto_server + one `sam local start-lambda` per version + the gateway; Ctrl-C stops all
sample  send N requests through the gateway and print the observed split per version
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from local.rehearsal.control_plane import CREDENTIALS
from local.rehearsal.stack import (
    BUILD_DIR,
    BUILT_TEMPLATE,
    OFFLINE,
    STANDIN_IMAGE,
    Options,
    Rehearsal,
    sam_build,
    snapshot_build,
)
from local.rehearsal.traffic import send, summarize


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local.rehearsal", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the rehearsal and keep it running until Ctrl-C / SIGTERM")
    up.add_argument("--models", default="v1,v2", help="default model per published version, in order (v1,v2)")
    up.add_argument("--build", action="store_true", help="run `sam build` first (always done if nothing is built)")
    up.add_argument(
        "--template", type=Path, help="a built template to run as is (default: a private snapshot of .aws-sam/build)"
    )
    up.add_argument("--gateway-port", type=int, default=0, help="gateway port on 127.0.0.1 (default: a free one)")
    up.add_argument("--workdir", type=Path, help="logs, env-vars files, rollout.env (default: a new temp dir)")
    up.add_argument("--docker-network", help="docker network for the function containers (created and removed)")
    up.add_argument("--ready-file", type=Path, help="write the endpoints as JSON here once everything answers")
    up.add_argument("--routing-ttl", type=float, default=0.5, help="seconds the gateway caches the alias (<= 1)")
    mode = up.add_mutually_exclusive_group()
    mode.add_argument(
        "--offline",
        action="store_true",
        default=OFFLINE,
        help=f"use the stand-in runtime image {STANDIN_IMAGE} (default when SAM_LOCAL_OFFLINE=1)",
    )
    mode.add_argument("--online", dest="offline", action="store_false", help="let SAM pull the public image")

    sample = sub.add_parser("sample", help="send requests through the gateway; print the split per version")
    sample.add_argument("--gateway", required=True, help="gateway URL printed by `up`")
    sample.add_argument("-n", "--requests", type=int, default=200)
    sample.add_argument("-c", "--concurrency", type=int, default=4, help="parallel connections (default 4)")
    return parser


def _rollout_env(workdir: Path, rehearsal: Rehearsal) -> Path:
    """Fake credentials for moto, so the operator's real AWS profile is never involved."""
    path = workdir / "rollout.env"
    lines = [f"export {k}={shlex.quote(v)}" for k, v in CREDENTIALS.items()]
    lines.append(f"export REHEARSAL_GATEWAY={shlex.quote(rehearsal.describe()['gateway'])}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _print_ready(rehearsal: Rehearsal, env_file: Path) -> None:
    info = rehearsal.describe()
    cli = " ".join(shlex.quote(a) for a in info["rollout_cli_args"])
    rows = "\n".join(
        f"  version {v}: DEFAULT_MODEL_VERSION={d['environment'].get('DEFAULT_MODEL_VERSION')}  "
        f"start-lambda {d['start_lambda']}  (ready in {d['ready_seconds']} s; log {d['log']})"
        for v, d in info["versions"].items()
    )
    print(
        f"""Rehearsal ready in {info["startup_seconds"]} s (alias {info["function_name"]}:{info["alias"]} -> version 1)
  gateway       {info["gateway"]}   e.g. curl -si {info["gateway"]}/predict -H 'Content-Type: application/json' \\
                  -d '{{"text": "I love it"}}'   (header X-Served-Version says which version answered)
  control plane {info["control_plane"]}   (moto_server)
{rows}

In another terminal (fake credentials for moto):
  source {env_file}
  python -m tools.rollout {cli} status
  python -m tools.rollout {cli} canary --version 2 --percent 30
  python -m local.rehearsal sample --gateway "$REHEARSAL_GATEWAY" -n 300
  python -m tools.rollout {cli} promote        # or: rollback
Ctrl-C stops everything (containers, sam, moto_server).""",
        flush=True,
    )


def up(args: argparse.Namespace) -> int:
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sentiment-rehearsal-"))
    workdir.mkdir(parents=True, exist_ok=True)

    # SIGINT (Ctrl-C) and SIGTERM (CI, `kill`): while starting, abort the start (what already runs is
    # stopped); while running, end the wait below; while stopping, ignored so the teardown completes.
    phase = "starting"
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal phase
        if phase == "starting":
            phase = "stopping"
            raise KeyboardInterrupt
        if phase == "running":
            phase = "stopping"
            stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        options = _options(args, workdir)
        print(f"starting (logs in {workdir}) ...", flush=True)
        with Rehearsal(options) as rehearsal:
            _print_ready(rehearsal, _rollout_env(workdir, rehearsal))
            if args.ready_file:
                tmp = args.ready_file.with_suffix(".tmp")
                tmp.write_text(json.dumps(rehearsal.describe(), indent=2))
                tmp.replace(args.ready_file)  # atomic: a reader never sees half a file
            if phase == "starting":
                phase = "running"
                stop.wait()
            phase = "stopping"
            print("stopping ...", flush=True)
    except KeyboardInterrupt:
        print("interrupted; stopped", flush=True)
        return 130
    finally:
        if args.template is None:
            shutil.rmtree(workdir / "build", ignore_errors=True)  # the ~200 MB build copy; logs stay
    print(f"stopped (logs kept in {workdir})", flush=True)
    return 0


def _options(args: argparse.Namespace, workdir: Path) -> Options:
    template = args.template
    if template is None:
        if args.build or not BUILT_TEMPLATE.is_file():
            print(f"sam build (log: {workdir / 'sam-build.log'}) ...", flush=True)
            sam_build(workdir / "sam-build.log")
        template = snapshot_build(BUILD_DIR, workdir / "build")
    options = Options(
        workdir=workdir,
        template=template,
        models=[m.strip() for m in args.models.split(",") if m.strip()],
        invoke_image=STANDIN_IMAGE if args.offline else None,
        gateway_port=args.gateway_port,
        routing_ttl=min(args.routing_ttl, 1.0),
    )
    if args.docker_network:
        options.docker_network = args.docker_network
    return options


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "up":
        return up(args)
    print(json.dumps(summarize(send(args.gateway, args.requests, args.concurrency)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
