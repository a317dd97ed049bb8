"""argparse and output for ``python -m tools.rollout``.

Exit codes: 0 ok (also "nothing to change"), 1 AWS error, 2 usage or validation refusal,
3 conflict (alias changed under us / RevisionId stale) or a CodeDeploy deployment in progress.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tools.rollout import operations
from tools.rollout.aliases import percent
from tools.rollout.clients import Clients
from tools.rollout.errors import EXIT_OK, AwsError, RolloutError, UsageError
from tools.rollout.operations import ChangeResult, StatusReport, Target

DEFAULT_ALIAS = "live"


def _add_global_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    # Global flags are accepted before or after the command, as with the AWS CLI. Sub-parsers
    # default to SUPPRESS so an option given before the command is not reset after it.
    def default(value: Any) -> Any:
        return value if top_level else argparse.SUPPRESS

    env = os.environ.get
    g = parser.add_argument_group("global options")
    g.add_argument(
        "--function-name", default=default(env("FUNCTION_NAME")), help="function name or ARN (env FUNCTION_NAME)"
    )
    g.add_argument("--alias", default=default(DEFAULT_ALIAS), help="alias to manage (default: live)")
    g.add_argument("--endpoint-url", default=default(None), help="override the AWS endpoint (e.g. moto_server)")
    g.add_argument("--profile", default=default(None), help="AWS named profile")
    g.add_argument("--region", default=default(None), help="AWS region")
    g.add_argument(
        "--stack-name",
        default=default(env("STACK_NAME")),
        help="SAM stack: finds the CodeDeploy app/group (env STACK_NAME)",
    )
    g.add_argument(
        "--codedeploy-app",
        default=default(env("CODEDEPLOY_APPLICATION")),
        help="CodeDeploy application (env CODEDEPLOY_APPLICATION)",
    )
    g.add_argument(
        "--codedeploy-group",
        default=default(env("CODEDEPLOY_DEPLOYMENT_GROUP")),
        help="CodeDeploy deployment group (env CODEDEPLOY_DEPLOYMENT_GROUP)",
    )
    g.add_argument("--json", action="store_true", default=default(False), help="machine-readable output on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.rollout",
        description="Show and change the weights of the function's live alias (canary, promote, rollback).",
        epilog="Exit codes: 0 ok, 1 AWS error, 2 usage/validation refusal, "
        "3 conflict or CodeDeploy deployment in progress.",
    )
    _add_global_options(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_global_options(p, top_level=False)
        return p

    st = command("status", "versions behind the alias: weight, model version, invocations, errors, latency")
    st.add_argument("--minutes", type=int, default=15, help="metrics window in minutes (default 15)")

    can = command("canary", "start a canary, or set its percent")
    can.add_argument("--version", required=True, help="published version number to send traffic to")
    can.add_argument("--percent", required=True, type=float, help="share of traffic for that version, in [0, 100)")

    pro = command("promote", "send 100%% to the canary version and clear the routing")
    pro.add_argument("--version", help="refuse unless this is the canary version")

    command("rollback", "drop the canary: 100%% to the primary version")

    for p in (can, pro, sub.choices["rollback"]):
        p.add_argument(
            "--force", action="store_true", help="change the alias even while a CodeDeploy deployment is in progress"
        )
    return parser


# --- output -------------------------------------------------------------------------------------


def _num(value: float | None, fmt: str = "{:g}") -> str:
    return "-" if value is None else fmt.format(value)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def render_status(report: StatusReport) -> str:
    state = report.state
    rows = [["VERSION", "WEIGHT", "MODEL", "INVOCATIONS", "ERRORS", "ERROR%", "AVG MS", "P99 MS"]]
    for v in report.versions:
        h = v.health
        rows.append(
            [
                v.version,
                percent(v.weight),
                v.model_version or "?",
                _num(h.invocations),
                _num(h.errors),
                "-" if h.error_rate is None else percent(h.error_rate),
                _num(h.duration_avg_ms, "{:.1f}"),
                _num(h.duration_p99_ms, "{:.1f}"),
            ]
        )
    canary = state.routing.canary
    lines = [
        f"{state.qualified_name}  (RevisionId {state.revision_id})",
        _table(rows),
        f"  metrics: last {report.window_minutes} min of AWS/Lambda by FunctionName, "
        f"Resource={state.qualified_name}, ExecutedVersion",
        f"canary: version {canary[0]} at {percent(canary[1])}"
        if canary
        else "canary: none (all traffic on the primary version)",
    ]
    if report.deployment_target is None:
        lines.append("CodeDeploy: not checked (pass --stack-name, or --codedeploy-app and --codedeploy-group)")
    else:
        t = report.deployment_target
        where = f"{t.application}/{t.group} (from {t.source})"
        if report.deployments:
            lines += [f"CodeDeploy: DEPLOYMENT IN PROGRESS in {where}:"] + [
                f"  {d.describe()}" for d in report.deployments
            ]
        else:
            lines.append(f"CodeDeploy: no deployment in progress in {where}")
    lines += [f"PROBLEM: {p}" for p in report.problems]
    return "\n".join(lines)


def render_change(result: ChangeResult) -> str:
    name = result.after.qualified_name
    if not result.changed:
        return f"{result.action}: {name} already routes {result.after.routing.describe()}; nothing changed"
    lines = [
        f"{result.action}: {name} updated",
        f"  before: {result.before.routing.describe()}",
        f"  after:  {result.after.routing.describe()}",
    ]
    models = ", ".join(f"version {v} serves {m or '?'}" for v, m in sorted(result.models.items()))
    if models:
        lines.append(f"  models: {models}")
    lines += [f"warning: {w}" for w in result.warnings]
    return "\n".join(lines)


def _emit_error(err: RolloutError, as_json: bool, out: TextIO, err_out: TextIO) -> int:
    if as_json:
        out.write(json.dumps({"ok": False, "error": err.kind, "message": str(err), "exit_code": err.exit_code}) + "\n")
    else:
        err_out.write(f"error: {err}\n")
    return err.exit_code


# --- entry point --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, session: boto3.Session | None = None) -> int:
    args = build_parser().parse_args(argv)
    out, err_out = sys.stdout, sys.stderr
    try:
        if not args.function_name:
            raise UsageError("no function: pass --function-name or set FUNCTION_NAME")
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
                if not 1 <= args.minutes <= 1440:
                    raise UsageError("--minutes must be between 1 and 1440")
                report = operations.status(clients, target, minutes=args.minutes)
                out.write((json.dumps(report.to_json()) if args.json else render_status(report)) + "\n")
                return EXIT_OK
            if args.command == "canary":
                plan = operations.plan_canary(args.version, args.percent)
            elif args.command == "promote":
                plan = operations.plan_promote(args.version)
            else:
                plan = operations.plan_rollback
            result = operations.apply(clients, target, args.command, plan, force=args.force)
        except (ClientError, BotoCoreError) as exc:
            raise AwsError(f"AWS call failed: {exc}") from exc
        out.write((json.dumps(result.to_json()) if args.json else render_change(result)) + "\n")
        return EXIT_OK
    except RolloutError as exc:
        return _emit_error(exc, args.json, out, err_out)
