"""Checks template.yaml before anything is deployed from it.

1. cfn-lint on the template as written and on its SAM expansion (cfn-lint alone does
   not expand SAM resources, so references, event sources and policies of the
   generated resources are only checked after the translation), then SAM's own
   `sam validate --lint`.
2. Every crate under functions/ is a function of the template, and the other way round.
3. Each function is granted exactly what infra/template/permissions.json says its code
   calls (least privilege: nothing missing, nothing more).
4. The wiring rules of docs/operations.md: queues consumed with partial batch
   responses and bounded concurrency, visibility timeouts of at least six times the
   consumer's timeout, a dead-letter queue behind every work queue, explicit input on
   every schedule.

Usage: lint.py [template.yaml]. Exits non-zero with every finding printed.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from cfnlint.decode import decode_str
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]
PERMISSIONS = Path(__file__).with_name("permissions.json")


class NoManagedPolicies:
    """The translator asks for managed-policy ARNs; offline we know none."""

    def load(self):
        return {}


def lint(template_path: str, template: dict) -> list[str]:
    """cfn-lint on the SAM expansion and the template, then `sam validate --lint`."""
    expanded = json.loads(json.dumps(template))
    for resource in expanded["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://bucket/code.zip"
    expanded.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/code.zip"
    expanded = transform(expanded, {}, NoManagedPolicies())
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(expanded, out)
    print(f"expanded {len(expanded['Resources'])} resources")
    findings = []
    if subprocess.call(["cfn-lint", out.name, template_path]) != 0:
        findings.append("cfn-lint found problems (above)")
    sam = subprocess.run(
        ["sam", "validate", "--lint", "--template-file", template_path, "--region", "us-east-1"],
        capture_output=True,
        text=True,
    )
    print((sam.stdout + sam.stderr).strip())
    if sam.returncode != 0:
        findings.append("sam validate --lint failed (above)")
    return findings


def functions(template: dict) -> dict[str, tuple[str, dict]]:
    """Binary name -> (logical id, resource) of every function in the template."""
    found = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary", logical)
            found[binary] = (logical, resource)
    return found


def check_crates(template: dict) -> list[str]:
    crates = {path.parent.name for path in (ROOT / "functions").glob("*/Cargo.toml")}
    declared = set(functions(template))
    findings = [f"functions/{name} is not a function of the template" for name in sorted(crates - declared)]
    findings += [f"the template's function {name} has no crate under functions/" for name in sorted(declared - crates)]
    for binary, (logical, resource) in functions(template).items():
        metadata = resource.get("Metadata", {})
        if metadata.get("BuildMethod") != "rust-cargolambda":
            findings.append(f"{logical}: Metadata.BuildMethod must be rust-cargolambda")
    return findings


def resource_name(value) -> str:
    """The permission table's name of a policy statement's resource: a logical id
    (`!GetAtt X.Arn`, `!Ref X`), `X/index/*` for `${X.Arn}/index/*`, or the part of an
    `arn:` string after its account with parameters named (`identity/NoticeFromEmail`)."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return (target.split(".") if isinstance(target, str) else target)[0]
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        text = re.sub(r"\$\{(AWS::)?([A-Za-z0-9]+)(\.Arn)?\}", r"\2", value["Fn::Sub"])
        return text.split(":", 5)[5] if text.startswith("arn:") else text
    return json.dumps(value)


def statements(template: dict, policy) -> list[dict]:
    """The statements of one entry of a function's `Policies`."""
    if isinstance(policy, dict) and "Statement" in policy:
        return policy["Statement"]
    if isinstance(policy, dict) and "Ref" in policy:
        managed = template["Resources"].get(policy["Ref"], {})
        if managed.get("Type") == "AWS::IAM::ManagedPolicy":
            return managed["Properties"]["PolicyDocument"]["Statement"]
    raise ValueError(f"policy {json.dumps(policy)} is neither statements nor a managed policy of this template")


def granted(template: dict, resource: dict) -> dict[str, set[str]]:
    """Resource name -> actions a function's policies allow."""
    grants: dict[str, set[str]] = {}
    for policy in resource["Properties"].get("Policies", []):
        for statement in statements(template, policy):
            if statement.get("Effect") != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for target in targets:
                grants.setdefault(resource_name(target), set()).update(actions)
    return grants


def check_permissions(template: dict) -> list[str]:
    table = {name: calls for name, calls in json.loads(PERMISSIONS.read_text()).items() if not name.startswith("_")}
    findings = []
    for binary, (logical, resource) in functions(template).items():
        try:
            grants = granted(template, resource)
        except ValueError as error:
            findings.append(f"{logical}: {error}")
            continue
        needed = {name: set(actions) for name, actions in table.get(binary, {}).items()}
        if binary not in table:
            findings.append(f"{binary} is missing from {PERMISSIONS.name}")
        for name in sorted(set(grants) | set(needed)):
            missing = needed.get(name, set()) - grants.get(name, set())
            extra = grants.get(name, set()) - needed.get(name, set())
            if missing:
                findings.append(f"{logical} is not granted {sorted(missing)} on {name}, which its code calls")
            if extra:
                findings.append(f"{logical} is granted {sorted(extra)} on {name}, which its code never calls")
    return findings


def check_wiring(template: dict) -> list[str]:
    resources = template["Resources"]
    default_timeout = template.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    findings = []
    for logical, queue in resources.items():
        if queue["Type"] == "AWS::SQS::Queue" and "DeadLetter" not in logical:
            if "RedrivePolicy" not in queue["Properties"]:
                findings.append(f"{logical} has no dead-letter queue")
    for binary, (logical, resource) in functions(template).items():
        timeout = resource["Properties"].get("Timeout", default_timeout)
        for name, event in resource["Properties"].get("Events", {}).items():
            properties = event["Properties"]
            if event["Type"] == "SQS":
                queue = resource_name(properties["Queue"])
                visibility = resources[queue]["Properties"].get("VisibilityTimeout", 30)
                if visibility < 6 * timeout:
                    findings.append(f"{queue}: visibility timeout {visibility} s < 6 x {logical}'s {timeout} s")
                if "ReportBatchItemFailures" not in properties.get("FunctionResponseTypes", []):
                    findings.append(f"{logical}.{name}: no ReportBatchItemFailures")
                if "MaximumConcurrency" not in properties.get("ScalingConfig", {}):
                    findings.append(f"{logical}.{name}: no ScalingConfig.MaximumConcurrency")
            if event["Type"] in ("Schedule", "ScheduleV2") and "Input" not in properties:
                findings.append(f"{logical}.{name}: a schedule without explicit Input")
    return findings


def main(template_path: str) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(template_path) as handle:
        template, errors = decode_str(handle.read())
    if errors:
        print(*errors, sep="\n")
        return 1
    template = json.loads(json.dumps(template))
    findings = check_crates(template) + check_permissions(template) + check_wiring(template)
    findings += lint(template_path, template)
    for finding in findings:
        print(f"template: {finding}", file=sys.stderr)
    if not findings:
        print(f"template: {len(functions(template))} functions, each granted exactly its calls")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "template.yaml")))
