"""Read a rehearsal deploy back through the emulator's APIs and compare it with the synthesized templates.

What moto models is read back (stacks, their outputs, the ECS task definition, the ALB's listener
rules, the Lambda's code hash); the rest is the coverage table's business. Each check is one
``verify.Check`` so the rehearsal prints them the way ``verify`` prints its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bedrockgate_pipeline.verify import Check, table

DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


def _templates(cdk_out: Path) -> dict[str, dict[str, Any]]:
    """Stack name -> template, from the cloud assembly's manifest (artifact id = stack name for our app)."""
    manifest = json.loads((cdk_out / "manifest.json").read_text(encoding="utf-8"))
    found = {}
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") == "aws:cloudformation:stack":
            properties = artifact["properties"]
            name = properties.get("stackName") or artifact.get("displayName")
            found[str(name)] = json.loads((cdk_out / properties["templateFile"]).read_text(encoding="utf-8"))
    return found


def stacks(cloudformation: Any, cdk_out: Path, statuses: Iterable[str] = DONE) -> list[Check]:
    """Every stack of the assembly exists in a finished state, with every output its template declares."""
    wanted = set(statuses)
    checks = []
    for name, template in sorted(_templates(cdk_out).items()):
        try:
            [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except Exception as error:
            checks.append(Check(f"stack {name}", "failed", f"not found: {error}"))
            continue
        status = stack["StackStatus"]
        outputs = {output["OutputKey"] for output in stack.get("Outputs", [])}
        missing = sorted(set(template.get("Outputs", {})) - outputs)
        ok = status in wanted and not missing
        detail = f"{status}, {len(outputs)} outputs" + (f"; missing outputs {missing}" if missing else "")
        checks.append(Check(f"stack {name}", "passed" if ok else "failed", detail))
    return checks


def task_image(ecs: Any, image: str) -> Check:
    """The gateway's task definition runs the pushed digest (and only that gateway image)."""
    arns = ecs.list_task_definitions()["taskDefinitionArns"]
    images = [
        container["image"]
        for arn in arns
        for container in ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"]
        if "bedrockgate-gateway" in container["image"]
    ]
    ok = bool(images) and set(images) == {image}
    return Check("task definition image", "passed" if ok else "failed", f"{sorted(set(images))} (want {image})")


def _paths(conditions: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """A rule's path patterns, sorted: the same shape in a template's properties and in ELBv2's answer."""
    return tuple(sorted(value for condition in conditions
                        for value in condition.get("PathPatternConfig", {}).get("Values", [])
                        or condition.get("Values", [])))  # fmt: skip


def _template_rules(cdk_out: Path) -> set[tuple[int, tuple[str, ...]]]:
    rules = set()
    for template in _templates(cdk_out).values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule":
                properties = resource["Properties"]
                rules.add((int(properties["Priority"]), _paths(properties.get("Conditions", []))))
    return rules


def listener_rules(elbv2: Any, cdk_out: Path) -> Check:
    """The ALB's rules read back equal the template's: ``/phoenix/*`` to Phoenix, the rest to the gateway."""
    found = set()
    for balancer in elbv2.describe_load_balancers()["LoadBalancers"]:
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
            for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                if rule.get("IsDefault") or rule["Priority"] == "default":
                    continue
                found.add((int(rule["Priority"]), _paths(rule.get("Conditions", []))))
    wanted = _template_rules(cdk_out)
    routed = any("/phoenix/*" in paths for _, paths in found)
    ok = found == wanted and routed
    return Check(
        "listener rules", "passed" if ok else "failed", f"read back {sorted(found)}; template {sorted(wanted)}"
    )


def zip_code_sha256(path: Path) -> str:
    """Lambda's ``CodeSha256``: base64 of the zip's SHA-256."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def lambda_code(lambda_client: Any, zip_path: Path) -> Check:
    """Exactly the zip ``lambda_zip`` built is the fulfillment function's code."""
    want = zip_code_sha256(zip_path)
    functions = lambda_client.list_functions()["Functions"]
    matching = [f["FunctionName"] for f in functions if f.get("CodeSha256") == want]
    ok = len(matching) == 1
    return Check("lambda code hash", "passed" if ok else "failed",
                 f"{want} in {matching or 'no function'} of {len(functions)}")  # fmt: skip


def retained(cdk_out: Path) -> list[str]:
    """``stack/logical id (type)`` of every resource a destroy keeps (DeletionPolicy Retain or Snapshot).

    From the templates, not the emulator: moto keeps or drops resources by its own rules.
    """
    return sorted(
        f"{stack}/{logical} ({resource['Type']}, {resource['DeletionPolicy']})"
        for stack, template in _templates(cdk_out).items()
        for logical, resource in template.get("Resources", {}).items()
        if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate", "Snapshot")
    )


def destroyed(cloudformation: Any) -> Check:
    """Nothing of the app is left but the bootstrap stack (a stack that failed to delete shows DELETE_FAILED)."""
    left = sorted(
        f"{stack['StackName']} ({stack['StackStatus']})"
        for stack in cloudformation.describe_stacks()["Stacks"]
        if stack["StackName"] != "CDKToolkit" and stack["StackStatus"] != "DELETE_COMPLETE"
    )
    return Check("destroy", "failed" if left else "passed", f"left: {left}" if left else "no stack left")


def main(argv: list[str] | None = None) -> int:
    """``python -m bedrockgate_pipeline.rehearsal.readback deployed|updated|destroyed --cdk-out DIR ...``.

    Runs where boto3 is (the rehearsal's venv); the clients take the emulator from ``AWS_ENDPOINT_URL``.
    """
    import argparse  # noqa: PLC0415
    import importlib  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="readback")
    parser.add_argument("phase", choices=["deployed", "updated", "destroyed"])
    parser.add_argument("--cdk-out", type=Path, required=True)
    parser.add_argument("--image", default="", help="the pushed gateway image the task must run")
    parser.add_argument("--zip", type=Path, default=None, help="the Lambda zip the function must hold")
    args = parser.parse_args(argv)
    client = importlib.import_module("boto3").client  # boto3 carries no types
    cloudformation = client("cloudformation")
    checks = [destroyed(cloudformation)] if args.phase == "destroyed" else stacks(cloudformation, args.cdk_out)
    if args.phase == "deployed":
        checks += [task_image(client("ecs"), args.image), listener_rules(client("elbv2"), args.cdk_out)]
        if args.zip is not None:
            checks.append(lambda_code(client("lambda"), args.zip))
    print(table(checks))
    failed = [check.name for check in checks if check.outcome == "failed"]
    print(f"read back ({args.phase}): " + (f"FAILED: {', '.join(failed)}" if failed else f"{len(checks)} passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
