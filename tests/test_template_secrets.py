"""The template's Redis secret wiring: the function reads exactly one secret, only when one is configured,
and a VPC-attached function can reach Secrets Manager (an interface endpoint it alone may use)."""

from __future__ import annotations

from typing import Any

from cfnlint.decode.cfn_yaml import load

from tests.conftest import ROOT

TEMPLATE: Any = load(str(ROOT / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]


def _conditional_policies(condition: str) -> list[dict[str, Any]]:
    policies = RESOURCES["InferenceFunctionRole"]["Properties"]["Policies"]
    return [p["Fn::If"][1] for p in policies if "Fn::If" in p and p["Fn::If"][0] == condition]


def test_the_function_may_read_only_the_configured_secret() -> None:
    (policy,) = _conditional_policies("HasRedisSecret")
    statements = policy["PolicyDocument"]["Statement"]
    assert statements == [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "RedisSecretArn"}}
    ]
    # Only for an existing cache with a secret; otherwise no secret permission at all.
    condition = TEMPLATE["Conditions"]["HasRedisSecret"]["Fn::And"]
    assert {"Condition": "UseExistingCache"} in condition


def test_the_secret_reaches_the_function_as_an_arn_never_a_value() -> None:
    env = RESOURCES["InferenceFunction"]["Properties"]["Environment"]["Variables"]
    assert env["REDIS_SECRET_ARN"] == {"Fn::If": ["HasRedisSecret", {"Ref": "RedisSecretArn"}, ""]}
    assert (
        "NoEcho" not in TEMPLATE["Parameters"]["RedisSecretArn"]
    )  # an ARN is not a secret; the value never passes here


def test_the_secrets_endpoint_is_private_and_only_for_the_function() -> None:
    endpoint = RESOURCES["SecretsManagerVpcEndpoint"]
    assert endpoint["Condition"] == "CreateSecretsEndpoint"
    props = endpoint["Properties"]
    assert props["VpcEndpointType"] == "Interface" and props["PrivateDnsEnabled"] is True
    group = RESOURCES["SecretsEndpointSecurityGroup"]["Properties"]
    (ingress,) = group["SecurityGroupIngress"]
    assert (ingress["FromPort"], ingress["ToPort"], ingress["IpProtocol"]) == (443, 443, "tcp")
    assert ingress["SourceSecurityGroupId"] == {"Fn::Select": [0, {"Ref": "ExistingSecurityGroupIds"}]}
    assert "CidrIp" not in ingress
