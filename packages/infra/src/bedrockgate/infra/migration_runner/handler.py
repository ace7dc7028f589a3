"""Run LiteLLM's database migration task once and wait for it: a CDK Provider's two handlers.

``on_event`` (Create and Update) starts one Fargate task of the migration task definition
(``ecs:RunTask``, the family's newest revision) and returns its ARN; ``is_complete`` asks
``ecs:DescribeTasks`` until the task has stopped, and succeeds only when the migration container
exited 0: otherwise it raises, the custom resource fails, and CloudFormation rolls the deployment
back before any gateway task of the new revision starts. Delete does nothing (a migration is not
undone). The resource's properties are the image and the config digest, so CloudFormation sends an
Update, and the migration runs again, only when one of them changes.

Runs in AWS Lambda's Python runtime: the standard library and boto3 only.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

__all__ = ["is_complete", "on_event"]

STARTED_BY: Final = "bedrockgate-migration"
"""``startedBy`` of the task, so ``aws ecs list-tasks --started-by`` finds it."""


def _ecs() -> Any:
    """An ECS client (boto3 ships no type information, hence Any)."""
    return importlib.import_module("boto3").client("ecs")


def on_event(event: dict[str, Any], _context: object = None) -> dict[str, Any]:
    """Create/Update: start the migration task; Delete: nothing."""
    properties = event["ResourceProperties"]
    physical_id = f"{properties['TaskDefinitionFamily']}-migration"
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId", physical_id)}
    answer = _ecs().run_task(
        cluster=properties["Cluster"],
        taskDefinition=properties["TaskDefinitionFamily"],
        launchType="FARGATE",
        count=1,
        startedBy=STARTED_BY,
        propagateTags="TASK_DEFINITION",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": list(properties["Subnets"]),
                "securityGroups": list(properties["SecurityGroups"]),
                "assignPublicIp": "DISABLED",
            }
        },
    )
    tasks = answer.get("tasks") or []
    if not tasks:
        reasons = "; ".join(f"{f.get('arn', '?')}: {f.get('reason', '?')}" for f in answer.get("failures") or [])
        raise RuntimeError(
            f"ecs:RunTask started no migration task in {properties['Cluster']}: {reasons or 'no reason given'}"
        )
    task_arn = str(tasks[0]["taskArn"])
    image, digest = properties.get("Image"), properties.get("ConfigDigest")
    print(f"started the migration task {task_arn} (image {image}, config {digest})")  # the Lambda's log
    return {"PhysicalResourceId": physical_id, "Data": {"TaskArn": task_arn}}


def is_complete(event: dict[str, Any], _context: object = None) -> dict[str, Any]:
    """Done when the task has stopped with the migration container's exit code 0; raise on any other end."""
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    properties = event["ResourceProperties"]
    task_arn = event["Data"]["TaskArn"]
    answer = _ecs().describe_tasks(cluster=properties["Cluster"], tasks=[task_arn])
    tasks = answer.get("tasks") or []
    if not tasks:
        raise RuntimeError(f"ecs:DescribeTasks does not know the migration task {task_arn}: {answer.get('failures')}")
    task = tasks[0]
    if task.get("lastStatus") != "STOPPED":
        return {"IsComplete": False}
    container: dict[str, Any] = next(
        (c for c in task.get("containers", []) if c.get("name") == properties["Container"]), {}
    )
    exit_code = container.get("exitCode")
    if exit_code == 0:
        print(f"the migration task {task_arn} succeeded")  # the Lambda's log
        return {"IsComplete": True, "Data": {"TaskArn": task_arn}}
    raise RuntimeError(
        f"the database migration task {task_arn} stopped with exit code {exit_code} "
        f"({task.get('stoppedReason') or 'no reason given'}; container: {container.get('reason') or '-'}): read its "
        f"log stream {properties.get('LogStreamPrefix', '')}/... in the log group {properties.get('LogGroup', '')}, "
        "fix the cause (the database's reachability, its credentials, a failed migration) and deploy again"
    )
