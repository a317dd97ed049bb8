"""What goes to stdout, in the three AWS CLI formats (``--output table|text|json``).

- json: one JSON document (indented like the AWS CLI), also for errors; strict JSON (no NaN).
- text: tab-separated records, one per line, the first field naming the record (README.md lists them);
  a missing value is ``None``, as in the AWS CLI's text output.
- table: the aligned human view.

Warnings and error messages are not rendered here: ``cli`` writes them to stderr in every format.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tools.rollout.aliases import Routing, percent
from tools.rollout.errors import RolloutError
from tools.rollout.operations import ChangeResult, StatusReport

# --- json -----------------------------------------------------------------------------------------


def _strict(value: Any) -> Any:
    """``value`` with every non-finite float as null: NaN/Infinity are not JSON (moto stores them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def json_document(doc: dict[str, Any]) -> str:
    return json.dumps(_strict(doc), indent=4, allow_nan=False) + "\n"


def error_document(err: RolloutError) -> str:
    return json_document({"ok": False, "error": err.kind, "message": str(err), "exit_code": err.exit_code})


# --- text -----------------------------------------------------------------------------------------


def _field(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.12g}"  # 1 - 0.7 prints 0.3, 90.0 prints 90
    return " ".join(str(value).split())  # no tab or newline inside a field


def _record(*fields: Any) -> str:
    return "\t".join(_field(f) for f in fields)


def status_text(report: StatusReport) -> str:
    state = report.state
    canary = state.routing.canary or (None, None)
    target = report.deployment_target
    lines = [_record("ALIAS", state.function_name, state.alias, state.revision_id, state.routing.primary)]
    for v in report.versions:
        h = v.health
        lines.append(
            _record(
                "VERSION",
                v.version,
                v.weight,
                v.model_version,
                h.invocations,
                h.errors,
                h.error_rate,
                h.duration_avg_ms,
                h.duration_p99_ms,
            )
        )
    lines.append(_record("CANARY", *canary))
    lines.append(_record("METRICS", report.window_minutes))
    lines.append(
        _record("CODEDEPLOY", None, None, None)
        if target is None
        else _record("CODEDEPLOY", target.application, target.group, target.source)
    )
    lines += [
        _record("DEPLOYMENT", d.deployment_id, d.status, d.config_name, d.create_time, d.creator)
        for d in report.deployments
    ]
    lines += [_record("PROBLEM", p) for p in report.problems]
    return "\n".join(lines) + "\n"


def change_text(result: ChangeResult) -> str:
    before, after = result.before, result.after
    lines = [
        _record(
            "CHANGE",
            result.action,
            result.changed,
            after.function_name,
            after.alias,
            before.revision_id,
            after.revision_id,
        )
    ]
    lines += [_record("BEFORE", v, w) for v, w in before.routing.shares()]
    lines += [_record("AFTER", v, w, result.models.get(v)) for v, w in after.routing.shares()]
    return "\n".join(lines) + "\n"


# --- table ----------------------------------------------------------------------------------------


def _num(value: float | None, fmt: str = "{:g}") -> str:
    return "-" if value is None else fmt.format(value)


def _aligned(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _canary_line(routing: Routing) -> str:
    canary = routing.canary
    if canary:
        return f"canary: version {canary[0]} at {percent(canary[1])}"
    if routing.weights:
        return f"canary: several additional versions ({', '.join(sorted(routing.weights))})"
    return "canary: none (all traffic on the primary version)"


def status_table(report: StatusReport) -> str:
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
    lines = [
        f"{state.qualified_name}  (RevisionId {state.revision_id})",
        _aligned(rows),
        f"  metrics: last {report.window_minutes} min of AWS/Lambda by FunctionName, "
        f"Resource={state.qualified_name}, ExecutedVersion",
        _canary_line(state.routing),
    ]
    t = report.deployment_target
    if t is None:
        lines.append("CodeDeploy: not checked (pass --stack-name, or --codedeploy-app and --codedeploy-group)")
    elif report.deployments:
        lines.append(f"CodeDeploy: DEPLOYMENT IN PROGRESS in {t.application}/{t.group} (from {t.source}):")
        lines += [f"  {d.describe()}" for d in report.deployments]
    else:
        lines.append(f"CodeDeploy: no deployment in progress in {t.application}/{t.group} (from {t.source})")
    if report.problems:
        lines.append(f"routing problems: {len(report.problems)} (listed on stderr)")
    return "\n".join(lines) + "\n"


def change_table(result: ChangeResult) -> str:
    name = result.after.qualified_name
    if not result.changed:
        lines = [f"{result.action}: {name} already routes {result.after.routing.describe()}; nothing changed"]
    else:
        lines = [
            f"{result.action}: {name} updated",
            f"  before: {result.before.routing.describe()}",
            f"  after:  {result.after.routing.describe()}",
        ]
    models = ", ".join(f"version {v} serves {m or '?'}" for v, m in sorted(result.models.items()))
    if models:
        lines.append(f"  models: {models}")
    return "\n".join(lines) + "\n"


# --- dispatch -------------------------------------------------------------------------------------


def render(output: str, result: StatusReport | ChangeResult) -> str:
    if output == "json":
        return json_document(result.to_json())
    if isinstance(result, StatusReport):
        return status_text(result) if output == "text" else status_table(result)
    return change_text(result) if output == "text" else change_table(result)
