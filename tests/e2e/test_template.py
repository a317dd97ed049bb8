"""The template as CloudFormation sees it (no Docker needed, only the SAM CLI's virtualenv)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, require, sam_env

pytestmark = pytest.mark.e2e

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"


def transformed(**parameters: str) -> dict[str, Any]:
    require(SAM_PYTHON.is_file(), "SAM CLI virtualenv .venv-sam missing (make venv)")
    args = [str(SAM_PYTHON), str(Path(__file__).with_name("_sam_transform.py")), str(ROOT / "template.yaml")]
    result = subprocess.run(
        [*args, *(f"{k}={v}" for k, v in parameters.items())],
        capture_output=True,
        text=True,
        timeout=120,
        env=sam_env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def version_id(template: dict[str, Any]) -> str:
    (name,) = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Version"]
    return name


def test_sam_validate_lint() -> None:
    sam = ROOT / ".venv-sam" / "bin" / "sam"
    require(sam.is_file(), "SAM CLI missing (make venv)")
    result = subprocess.run(
        [str(sam), "validate", "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300, env=sam_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_api_invokes_the_live_alias_never_latest() -> None:
    resources = transformed()["Resources"]
    alias = resources["InferenceFunctionAliaslive"]
    assert alias["Type"] == "AWS::Lambda::Alias" and alias["Properties"]["Name"] == "live"
    body = json.dumps(resources["Api"]["Properties"]["Body"])
    uris = re.findall(r"functions/\$\{(\w+)\}/invocations", body)
    assert uris and set(uris) == {"InferenceFunctionAliaslive"}, uris
    permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert len(permissions) == 2  # "/" and "/{proxy+}"
    for permission in permissions:
        assert permission["FunctionName"] == {"Ref": "InferenceFunctionAliaslive"}
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert {"Ref": "Api"} in permission["SourceArn"]["Fn::Sub"][1].values()  # this API only


def test_configuration_change_publishes_a_new_version() -> None:
    """Guards the CONFIG_FINGERPRINT workaround for SAM issue #3820 (parameter values not hashed)."""
    base = version_id(transformed())
    assert version_id(transformed()) == base  # stable when nothing changes
    for change in ({"DefaultModelVersion": "v2"}, {"CanaryVersion": "v2", "CanaryPercent": "10"},
                   {"CacheTtlSeconds": "60"}, {"MemorySize": "2048"}, {"ConfigRevision": "2"},
                   {"ScikitLearnRuntime": "none"}):  # fmt: skip
        assert version_id(transformed(**change)) != base, change


def test_secrets_stay_out_of_the_fingerprint() -> None:
    template = transformed(CacheMode="existing", RedisUrl="rediss://user:s3cret@cache.internal:6379/0")
    function = template["Resources"]["InferenceFunction"]["Properties"]
    fingerprint = function["Environment"]["Variables"]["CONFIG_FINGERPRINT"]
    assert isinstance(fingerprint, str) and "s3cret" not in fingerprint
    assert "s3cret" not in json.dumps(function.get("Description", ""))


def test_api_key_is_optional() -> None:
    off = transformed()["Resources"]
    assert off["ApiKey"]["Condition"] == "UseApiKey" and off["ApiUsagePlan"]["Condition"] == "UseApiKey"
    security = off["Api"]["Properties"]["Body"]["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]["security"]
    assert security == {"Fn::If": ["UseApiKey", [{"api_key": []}], {"Ref": "AWS::NoValue"}]}


def test_cache_resources_only_in_create_mode() -> None:
    resources = transformed()["Resources"]
    for name in ("Cache", "CacheSecurityGroup", "FunctionSecurityGroup", "CacheIngressFromFunction"):
        assert resources[name]["Condition"] == "CreateCache"
    env = resources["InferenceFunction"]["Properties"]["Environment"]["Variables"]
    assert "rediss://" in json.dumps(env["REDIS_URL"])  # TLS to ElastiCache


def test_scikit_learn_layer_only_when_attached() -> None:
    """The whole Layers list is the Fn::If: `sam local` drops an item that may be AWS::NoValue (SAM CLI #6205)."""
    resources = transformed(ScikitLearnRuntime="none")["Resources"]
    (layer,) = [
        k for k, v in resources.items() if k.startswith("ScikitLearnLayer") and v["Type"] == "AWS::Lambda::LayerVersion"
    ]
    assert resources[layer]["Condition"] == "AttachScikitLearn"  # a linear-only stack does not publish it
    condition, attached, linear = resources["InferenceFunction"]["Properties"]["Layers"]["Fn::If"]
    assert condition == "AttachScikitLearn"
    assert attached[:-1] == linear and attached[-1] == {"Ref": layer} and len(linear) == 2
