"""The four operator commands, built from aliases / deployments / health.

Every change follows the same guarded path (``apply``):
  read alias -> plan the new routing -> validate like AWS -> refuse if CodeDeploy is deploying
  -> re-read and refuse if the alias moved -> update_alias with the RevisionId of the first read.
When the plan equals the stored routing there is nothing to write, but the stored routing is still
validated: an invalid one (moto stores anything) is refused, never reported as "nothing to change".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tools.rollout import aliases, deployments, health
from tools.rollout.aliases import AliasState, Routing, VersionConfig
from tools.rollout.clients import Clients
from tools.rollout.deployments import Deployment, DeploymentTarget
from tools.rollout.errors import DeploymentInProgressError, UsageError, ValidationError


@dataclass(frozen=True)
class Target:
    """Which alias, and how to find its CodeDeploy deployment group."""

    function_name: str
    alias: str
    codedeploy_app: str | None = None
    codedeploy_group: str | None = None
    stack_name: str | None = None

    def __post_init__(self) -> None:
        # Checked up front, so even a no-op command reports the mistake.
        if bool(self.codedeploy_app) != bool(self.codedeploy_group):
            raise UsageError("--codedeploy-app and --codedeploy-group go together; give both")

    def deployment_target(self, clients: Clients) -> DeploymentTarget | None:
        return deployments.resolve_target(
            clients.cloudformation,
            function_name=self.function_name,
            application=self.codedeploy_app,
            group=self.codedeploy_group,
            stack_name=self.stack_name,
        )


@dataclass(frozen=True)
class VersionStatus:
    version: str
    weight: float
    model_version: str | None
    health: health.VersionHealth

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "weight": self.weight,
            "model_version": self.model_version,
            **self.health.to_json(),
        }


@dataclass(frozen=True)
class StatusReport:
    state: AliasState
    versions: list[VersionStatus]
    window_minutes: int
    problems: list[str]
    deployment_target: DeploymentTarget | None
    deployments: list[Deployment]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "function_name": self.state.function_name,
            "alias": self.state.alias,
            "revision_id": self.state.revision_id,
            "primary_version": self.state.routing.primary,
            "canary": _canary_json(self.state.routing),
            "versions": [v.to_json() for v in self.versions],
            "metrics_window_minutes": self.window_minutes,
            "problems": self.problems,
            "codedeploy": None
            if self.deployment_target is None
            else {
                **self.deployment_target.to_json(),
                "active_deployments": [d.to_json() for d in self.deployments],
            },
        }


@dataclass(frozen=True)
class ChangeResult:
    action: str
    changed: bool
    before: AliasState
    after: AliasState
    models: dict[str, str | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "action": self.action,
            "changed": self.changed,
            "function_name": self.after.function_name,
            "alias": self.after.alias,
            "before": {**self.before.routing.to_json(), "revision_id": self.before.revision_id},
            "after": {**self.after.routing.to_json(), "revision_id": self.after.revision_id},
            "canary": _canary_json(self.after.routing),
            "model_versions": self.models,
            "warnings": self.warnings,
        }


def _canary_json(routing: Routing) -> dict[str, Any] | None:
    canary = routing.canary
    return None if canary is None else {"version": canary[0], "weight": canary[1]}


# --- status ---------------------------------------------------------------------------------


def status(clients: Clients, target: Target, *, minutes: int) -> StatusReport:
    state = aliases.read_alias(clients.lambda_, target.function_name, target.alias)
    routing = state.routing
    configs = {
        v: aliases.version_config(clients.lambda_, target.function_name, v)
        for v in aliases.versions_to_look_up(routing)
    }
    window = health.Window.last_minutes(minutes)
    versions = []
    for version, weight in routing.shares():
        cfg = configs.get(version)
        versions.append(
            VersionStatus(
                version=version,
                weight=weight,
                model_version=cfg.model_version if cfg else None,
                health=health.version_health(clients.cloudwatch, target.function_name, target.alias, version, window),
            )
        )
    dep_target = target.deployment_target(clients)
    active = deployments.active_deployments(clients.codedeploy, dep_target) if dep_target else []
    return StatusReport(
        state=state,
        versions=versions,
        window_minutes=minutes,
        # The stored routing may already break AWS's rules (moto accepts anything): say so.
        problems=aliases.routing_problems(routing, configs),
        deployment_target=dep_target,
        deployments=active,
    )


# --- plans: current state -> proposed routing ---------------------------------------------------


def plan_canary(version: str, percent: float) -> Callable[[AliasState], Routing]:
    def plan(state: AliasState) -> Routing:
        # Merge, not replace: a second canary must be refused ("at most one additional version"),
        # never silently swapped for the one already taking traffic.
        weights = dict(state.routing.weights)
        weights[version] = percent / 100.0
        return Routing(primary=state.routing.primary, weights=weights)

    return plan


def plan_promote(expected_version: str | None) -> Callable[[AliasState], Routing]:
    def plan(state: AliasState) -> Routing:
        extra = sorted(state.routing.weights)
        if not extra and expected_version == state.routing.primary:
            # Already promoted (e.g. a retry after a timeout): the requested routing is the stored one.
            return state.routing
        if not extra:
            raise ValidationError(
                f"refused: nothing to promote, {state.qualified_name} has no canary ({state.routing.describe()})"
            )
        if len(extra) > 1:
            raise ValidationError(
                f"refused: {state.qualified_name} has several additional versions ({', '.join(extra)}); roll back first"
            )
        canary = extra[0]
        if expected_version is not None and expected_version != canary:
            raise ValidationError(f"refused: the canary is version {canary}, not {expected_version}")
        return Routing(primary=canary, weights={})

    return plan


def plan_rollback(state: AliasState) -> Routing:
    return Routing(primary=state.routing.primary, weights={})


# --- the guarded write --------------------------------------------------------------------------


def _deployment_guard(clients: Clients, target: Target, *, force: bool) -> list[str]:
    """Refuse while CodeDeploy owns the alias; return warnings when --force overrides."""
    dep_target = target.deployment_target(clients)
    if dep_target is None:
        if force:
            return ["CodeDeploy check skipped (--force; no --stack-name or --codedeploy-app/--codedeploy-group)"]
        raise UsageError(
            "refused: cannot check for a CodeDeploy deployment in progress; pass --stack-name "
            "(or --codedeploy-app and --codedeploy-group), or --force to change the alias without the check"
        )
    active = deployments.active_deployments(clients.codedeploy, dep_target)
    if not active:
        return []
    listed = "; ".join(d.describe() for d in active)
    if force:
        return [
            f"--force: changed the alias although CodeDeploy deployment {listed} is in progress; "
            "CodeDeploy may overwrite or roll back this change"
        ]
    first = active[0].deployment_id
    raise DeploymentInProgressError(
        f"refused: CodeDeploy deployment {listed} is in progress on {target.function_name}:{target.alias}. "
        "CodeDeploy is shifting these weights itself; a manual change would be overwritten "
        "or would fight its rollback. "
        f"Wait for it (aws deploy get-deployment --deployment-id {first}), stop it "
        f"(aws deploy stop-deployment --deployment-id {first} --auto-rollback-enabled), or pass --force."
    )


def _models(configs: dict[str, VersionConfig | None], routing: Routing) -> dict[str, str | None]:
    """The default model of each version behind ``routing`` (None where unknown)."""
    models: dict[str, str | None] = {}
    for version, _ in routing.shares():
        cfg = configs.get(version)
        models[version] = cfg.model_version if cfg else None
    return models


def apply(
    clients: Clients,
    target: Target,
    action: str,
    plan: Callable[[AliasState], Routing],
    *,
    force: bool,
) -> ChangeResult:
    lam = clients.lambda_
    before = aliases.read_alias(lam, target.function_name, target.alias)
    proposal = plan(before)
    configs = aliases.version_configs(lam, target.function_name, before.routing, proposal)
    # The stored routing may break AWS's rules (moto, or anything written around this tool, accepts
    # anything): never call it "nothing to change", and say so when a change replaces it.
    stored = "; ".join(aliases.routing_problems(before.routing, configs))
    if proposal == before.routing:
        if stored:
            raise ValidationError(
                f"refused: {before.qualified_name} already routes {before.routing.describe()}, but that stored "
                f"routing is invalid (AWS would reject it): {stored}. Nothing was changed. Run status, then "
                "correct the alias: rollback clears the additional versions; a wrong primary version needs "
                "aws lambda update-alias --function-version N."
            )
        models = _models(configs, proposal)
        return ChangeResult(action=action, changed=False, before=before, after=before, models=models)
    problems = aliases.routing_problems(proposal, configs)
    if problems:
        raise ValidationError("refused: " + "; ".join(problems))
    warnings = [f"{before.qualified_name} had an invalid routing ({stored}); {action} replaced it"] if stored else []
    warnings += _deployment_guard(clients, target, force=force)
    # Last look right before writing: the RevisionId precondition alone is not enough where it is
    # not enforced (moto), and this also catches a change made while we validated.
    aliases.ensure_unchanged(before, aliases.read_alias(lam, target.function_name, target.alias))
    after = aliases.update_alias(lam, before, proposal)
    models = _models(configs, proposal)
    return ChangeResult(action=action, changed=True, before=before, after=after, models=models, warnings=warnings)
