"""``python -m tools.rollout``: parse, check, run one command, write the result.

Streams: stdout carries only the result (``--output table|text|json``); with json it is always
exactly one JSON document, errors included. Warnings and error messages go to stderr.
Exit codes (errors.py, README.md): 0 ok (also "nothing to change"), 1 AWS configuration or call
failed, 2 usage error or validation refusal, 3 conflict or CodeDeploy deployment in progress.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tools.rollout import arguments, operations, output
from tools.rollout.clients import Clients
from tools.rollout.errors import EXIT_OK, EXIT_REFUSED, AwsError, RolloutError, UsageError
from tools.rollout.operations import ChangeResult, StatusReport, Target


def _run(args: argparse.Namespace, session: boto3.Session | None) -> StatusReport | ChangeResult:
    clients = Clients(profile=args.profile, region=args.region, endpoint_url=args.endpoint_url, session=session)
    target = Target(
        function_name=args.function_name,
        alias=args.alias,
        codedeploy_app=args.codedeploy_app,
        codedeploy_group=args.codedeploy_group,
        stack_name=args.stack_name,
    )
    try:
        if args.command == "status":
            return operations.status(clients, target, minutes=args.minutes)
        if args.command == "canary":
            plan = operations.plan_canary(args.version, args.percent)
        elif args.command == "promote":
            plan = operations.plan_promote(args.version)
        else:
            plan = operations.plan_rollback
        return operations.apply(clients, target, args.command, plan, force=args.force)
    except (ClientError, BotoCoreError) as exc:
        raise AwsError(f"AWS call failed: {exc}") from exc


def _warnings(result: StatusReport | ChangeResult) -> list[str]:
    if isinstance(result, StatusReport):
        name = result.state.qualified_name
        return [f"the routing stored on {name} would be rejected by AWS: {p}" for p in result.problems]
    return list(result.warnings)


def main(
    argv: Sequence[str] | None = None,
    *,
    session: boto3.Session | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out, err_out = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = arguments.parse(argv)
    except arguments.UsageExit as exc:
        err_out.write(exc.render())
        if arguments.wants_json(argv):
            out.write(output.error_document(UsageError(exc.message)))
        return EXIT_REFUSED
    try:
        result = _run(args, session)
    except RolloutError as exc:
        err_out.write(f"error: {exc}\n")
        if args.output == "json":
            out.write(output.error_document(exc))
        return exc.exit_code
    for warning in _warnings(result):
        err_out.write(f"warning: {warning}\n")
    out.write(output.render(args.output, result))
    return EXIT_OK
