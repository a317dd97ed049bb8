"""samconfig.toml: `sam sync` deploys what `sam deploy` deploys, to its own stack."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT

CONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())
# The one parameter the sync stack must not own: the account-wide API Gateway logging role.
ACCOUNT_WIDE = "ConfigureApiGatewayAccount"


def _overrides(section: dict) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in section["parameter_overrides"].split())


def test_sync_deploys_the_deploy_parameters_to_its_own_stack() -> None:
    default = CONFIG["default"]
    deploy, sync = default["deploy"]["parameters"], default["sync"]["parameters"]
    assert sync["stack_name"] != default["global"]["parameters"]["stack_name"]  # never the CodeDeploy-managed stack
    assert sync["capabilities"] == deploy["capabilities"]
    deploy_params, sync_params = _overrides(deploy), _overrides(sync)
    assert sync_params.pop(ACCOUNT_WIDE) == "false"
    deploy_params.pop(ACCOUNT_WIDE)
    assert sync_params == deploy_params
