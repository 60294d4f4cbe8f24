"""Expands template.yaml with the SAM translator, then lints the result with cfn-lint.

cfn-lint alone does not expand SAM resources, so references, event sources and
policies of the generated resources are only checked after the translation.
"""
import json
import os
import subprocess
import sys
import tempfile

from cfnlint.decode import decode_str
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The translator asks for managed-policy ARNs; offline we know none."""

    def load(self):
        return {}


def main(template_path: str) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(template_path) as handle:
        template, errors = decode_str(handle.read())
    if errors:
        print(*errors, sep="\n")
        return 1
    template = json.loads(json.dumps(template))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://bucket/code.zip"
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/code.zip"
    expanded = transform(template, {}, NoManagedPolicies())
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(expanded, out)
    print(f"expanded {len(expanded['Resources'])} resources")
    return subprocess.call(["cfn-lint", out.name, template_path])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
