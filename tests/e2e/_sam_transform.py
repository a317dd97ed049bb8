"""Run with the SAM CLI's interpreter (.venv-sam): template.yaml -> CloudFormation, as CloudFormation would do
it (AWS::LanguageExtensions, then the SAM transform), for the given parameter values. Prints JSON.

Of AWS::LanguageExtensions only what the template uses is applied, as documented: Fn::ToJsonString with
Ref to parameters becomes a literal JSON string; every other intrinsic is left for CloudFormation."""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


def _resolve_refs(value, values):
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in values:
            return values[value["Ref"]]
        return {k: _resolve_refs(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_refs(v, values) for v in value]
    return value


def _to_json_string(value, values):
    if isinstance(value, dict):
        if set(value) == {"Fn::ToJsonString"}:
            return json.dumps(_resolve_refs(value["Fn::ToJsonString"], values), separators=(",", ":"))
        return {k: _to_json_string(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json_string(v, values) for v in value]
    return value


class _NoManagedPolicies:
    def load(self) -> dict:
        return {}


def main() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(sys.argv[1], encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    overrides = dict(arg.split("=", 1) for arg in sys.argv[2:])
    values = {name: str(p["Default"]) for name, p in template["Parameters"].items() if "Default" in p}
    values.update(overrides)
    # local paths stand in for the S3 locations `sam package` would write
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = "s3://bucket/" + props[key].strip("/")
    expanded = _to_json_string(template, values)
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    json.dump(transform(expanded, overrides, _NoManagedPolicies()), sys.stdout, default=str)


main()
