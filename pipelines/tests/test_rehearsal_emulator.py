"""The patched moto server, in-process on a free loopback port, driven through boto3 as the CDK CLI drives it.

Each test deploys a small hand-written template the way ``cdk deploy`` does (a change set named
``cdk-deploy-change-set``, created, described, executed) and checks one patch of the emulator.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information
import pytest
from bedrockgate_pipeline.rehearsal import emulator
from bedrockgate_pipeline.rehearsal.emulator import Emulator, EmulatorError

CDK_CHANGE_SET = "cdk-deploy-change-set"
Client = Callable[[str], Any]


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    running = emulator.start(0)
    yield running
    running.stop()


@pytest.fixture
def aws(server: Emulator) -> Client:
    """A boto3 client factory on a freshly reset emulator."""
    reset = urllib.request.Request(f"{server.url}/moto-api/reset", method="POST")  # noqa: S310 -- our loopback URL
    with urllib.request.urlopen(reset, timeout=30) as answer:  # noqa: S310 -- our loopback URL
        answer.read()
    session = boto3.session.Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 -- fake, for moto
        region_name="us-east-1",
    )
    return lambda service: session.client(service, endpoint_url=server.url)


def deploy(cfn: Any, stack: str, template: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What the CDK CLI does: clean up, create the change set, describe it by (stack, name), execute it."""
    summaries = cfn.list_stacks()["StackSummaries"]
    exists = any(s["StackName"] == stack and "DELETE" not in s["StackStatus"] for s in summaries)
    if exists:
        cfn.delete_change_set(StackName=stack, ChangeSetName=CDK_CHANGE_SET)
        with pytest.raises(cfn.exceptions.ChangeSetNotFoundException):
            cfn.describe_change_set(StackName=stack, ChangeSetName=CDK_CHANGE_SET)
    created = cfn.create_change_set(StackName=stack, ChangeSetName=CDK_CHANGE_SET, TemplateBody=json.dumps(template),
                                    ChangeSetType="UPDATE" if exists else "CREATE", **extra)  # fmt: skip
    described = cfn.describe_change_set(StackName=created["StackId"], ChangeSetName=created["Id"])
    assert described["StackName"] == stack
    cfn.execute_change_set(StackName=created["StackId"], ChangeSetName=created["Id"])
    return dict(cfn.describe_stacks(StackName=stack)["Stacks"][0])


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def parameter(name: str, value: Any) -> dict[str, Any]:
    return {"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String", "Value": value}}


def exporting(value: str) -> dict[str, Any]:
    return {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": value}}},
        "Outputs": {"QueueName": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}, "Export": {"Name": "shared-queue"}}},
    }


def test_a_change_set_stack_has_outputs_and_exports(aws: Client) -> None:
    stack = deploy(aws("cloudformation"), "exporter", exporting("jobs"))

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs(stack) == {"QueueName": "jobs"}
    exports = aws("cloudformation").list_exports()["Exports"]
    assert [(e["Name"], e["Value"]) for e in exports] == [("shared-queue", "jobs")]


def test_import_value_across_two_change_set_stacks(aws: Client) -> None:
    cfn = aws("cloudformation")
    deploy(cfn, "exporter", exporting("jobs"))
    importer = {"Resources": {"Param": parameter("/imported", {"Fn::ImportValue": "shared-queue"})}}

    assert deploy(cfn, "importer", importer)["StackStatus"] == "CREATE_COMPLETE"
    assert aws("ssm").get_parameter(Name="/imported")["Parameter"]["Value"] == "jobs"


def test_change_sets_of_the_same_name_are_scoped_to_their_stack(aws: Client) -> None:
    cfn = aws("cloudformation")
    for stack, value in (("one", "first"), ("two", "second")):
        cfn.create_change_set(StackName=stack, ChangeSetName=CDK_CHANGE_SET, ChangeSetType="CREATE",
                              TemplateBody=json.dumps({"Resources": {"P": parameter(f"/{stack}", value)}}))  # fmt: skip

    assert cfn.describe_change_set(StackName="two", ChangeSetName=CDK_CHANGE_SET)["StackName"] == "two"
    cfn.execute_change_set(StackName="one", ChangeSetName=CDK_CHANGE_SET)
    assert cfn.describe_change_set(StackName="two", ChangeSetName=CDK_CHANGE_SET)["ExecutionStatus"] == "AVAILABLE"
    with pytest.raises(cfn.exceptions.ChangeSetNotFoundException):  # executed: gone, as CloudFormation does
        cfn.describe_change_set(StackName="one", ChangeSetName=CDK_CHANGE_SET)
    cfn.execute_change_set(StackName="two", ChangeSetName=CDK_CHANGE_SET)

    ssm = aws("ssm")
    assert [ssm.get_parameter(Name=f"/{s}")["Parameter"]["Value"] for s in ("one", "two")] == ["first", "second"]
    assert {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]} == {
        "one": "CREATE_COMPLETE", "two": "CREATE_COMPLETE"}  # fmt: skip


def test_a_missing_change_set_is_not_found_and_deleting_one_by_name_succeeds(aws: Client) -> None:
    cfn = aws("cloudformation")
    deploy(cfn, "exporter", exporting("jobs"))

    cfn.delete_change_set(StackName="exporter", ChangeSetName="never-created")
    with pytest.raises(cfn.exceptions.ChangeSetNotFoundException, match="never-created"):
        cfn.describe_change_set(StackName="exporter", ChangeSetName="never-created")
    with pytest.raises(cfn.exceptions.ChangeSetNotFoundException):
        cfn.execute_change_set(StackName="exporter", ChangeSetName="never-created")


def test_a_second_change_set_updates_in_place(aws: Client) -> None:
    cfn = aws("cloudformation")
    first = {
        "Parameters": {"Level": {"Type": "String", "Default": "info"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs"}},
                      "LevelParameter": parameter("/level", {"Ref": "Level"})},
        "Outputs": {"Queue": {"Value": {"Ref": "Queue"}, "Export": {"Name": "queue-url"}}},
    }  # fmt: skip
    deploy(cfn, "app", first)
    queue_url = outputs(cfn.describe_stacks(StackName="app")["Stacks"][0])["Queue"]
    second = json.loads(json.dumps(first))
    second["Resources"]["Group"] = parameter("/group", "added")
    second["Outputs"]["Group"] = {"Value": {"Ref": "Group"}, "Export": {"Name": "group-name"}}

    # The CLI passes UsePreviousValue for a defaulted parameter the first deploy never sent.
    stack = deploy(cfn, "app", second, Parameters=[{"ParameterKey": "Level", "UsePreviousValue": True}])

    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(stack) == {"Queue": queue_url, "Group": "/group"}  # the queue was not replaced
    assert {e["Name"] for e in cfn.list_exports()["Exports"]} == {"queue-url", "group-name"}
    assert aws("ssm").get_parameter(Name="/level")["Parameter"]["Value"] == "info"


def test_a_service_follows_its_task_definitions_new_revision(aws: Client) -> None:
    cfn = aws("cloudformation")
    container = {"Name": "litellm", "Image": "registry/gateway@sha256:" + "1" * 64, "Memory": 512}
    template = {
        "Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "gateway"}},
            "Task": {"Type": "AWS::ECS::TaskDefinition",
                     "Properties": {"Family": "gateway", "ContainerDefinitions": [container]}},
            "Service": {"Type": "AWS::ECS::Service",
                        "Properties": {"Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "Task"},
                                       "DesiredCount": 1, "ServiceName": "gateway"}},
        }
    }  # fmt: skip
    deploy(cfn, "gateway", template)
    container["Image"] = "registry/gateway@sha256:" + "2" * 64  # the service's own template text is unchanged

    assert deploy(cfn, "gateway", template)["StackStatus"] == "UPDATE_COMPLETE"

    ecs = aws("ecs")
    service = ecs.describe_services(cluster="gateway", services=["gateway"])["services"][0]
    assert service["taskDefinition"].endswith("task-definition/gateway:2")

    cfn.delete_stack(StackName="gateway")
    assert ecs.describe_services(cluster="gateway", services=["gateway"])["services"][0]["status"] == "INACTIVE"
    assert ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"] == []
    assert ecs.describe_clusters(clusters=["gateway"])["clusters"][0]["status"] == "INACTIVE"


def test_update_stack_with_use_previous_value_of_a_defaulted_parameter(aws: Client) -> None:
    cfn = aws("cloudformation")
    template = {"Parameters": {"Level": {"Type": "String", "Default": "info"}},
                "Resources": {"LevelParameter": parameter("/level", {"Ref": "Level"})}}  # fmt: skip
    deploy(cfn, "app", template)
    template["Resources"]["More"] = parameter("/more", "x")

    cfn.update_stack(StackName="app", TemplateBody=json.dumps(template),
                     Parameters=[{"ParameterKey": "Level", "UsePreviousValue": True}])  # fmt: skip

    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


def test_unmodelled_types_are_placeholders_that_say_so_and_delete(aws: Client) -> None:
    cfn = aws("cloudformation")
    template = {
        "Resources": {
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "db-password"}},
            "Cluster": {"Type": "AWS::RDS::DBCluster", "Properties": {"Engine": "aurora-postgresql"}},
            "Writer": {"Type": "AWS::RDS::DBInstance",
                       "Properties": {"Engine": "aurora-postgresql", "DBClusterIdentifier": {"Ref": "Cluster"},
                                      "DBInstanceClass": "db.serverless"}},
            "SecretArn": parameter("/secret-arn", {"Ref": "Secret"}),
            "Guardrail": {"Type": "AWS::Bedrock::Guardrail", "Properties": {"Name": "g"}},
            "GuardrailArn": parameter("/guardrail-arn", {"Fn::GetAtt": ["Guardrail", "GuardrailArn"]}),
        },
        "Outputs": {"Endpoint": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Address"]}, "Export": {"Name": "db"}}},
    }  # fmt: skip
    stack = deploy(cfn, "data", template)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs(stack)["Endpoint"].endswith(".Endpoint.Address")
    secret_arn = aws("ssm").get_parameter(Name="/secret-arn")["Parameter"]["Value"]
    assert secret_arn == "arn:aws:secretsmanager:us-east-1:123456789012:secret/db-password"  # noqa: S105 -- an ARN
    # An ...Arn attribute is the ARN-shaped id too: IAM refuses <name>.<attribute> in a policy's Resource.
    guardrail_arn = aws("ssm").get_parameter(Name="/guardrail-arn")["Parameter"]["Value"]
    assert guardrail_arn.startswith("arn:aws:bedrock:us-east-1:123456789012:guardrail/")
    reasons = {r["LogicalResourceId"]: r.get("ResourceStatusReason", "")
               for r in cfn.describe_stack_resources(StackName="data")["StackResources"]}  # fmt: skip
    assert reasons["Secret"].startswith("placeholder: moto 5.2.5 does not model")
    assert "aurora" in reasons["Writer"]  # modelled by moto, but forced: its reason is the forced one
    assert not reasons["SecretArn"]
    assert aws("rds").describe_db_instances()["DBInstances"] == []

    cfn.delete_stack(StackName="data")
    assert cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert cfn.list_exports()["Exports"] == []


def test_target_group_attributes_and_kms_tags(aws: Client) -> None:
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Group": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                      "Properties": {"Port": 4000, "Protocol": "HTTP", "TargetType": "ip", "VpcId": {"Ref": "Vpc"}}},
            "Key": {"Type": "AWS::KMS::Key",
                    "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": []},
                                   "Tags": [{"Key": "team", "Value": "platform"}]}},
        },
        "Outputs": {"FullName": {"Value": {"Fn::GetAtt": ["Group", "TargetGroupFullName"]}},
                    "Key": {"Value": {"Ref": "Key"}}},
    }  # fmt: skip
    stack = deploy(aws("cloudformation"), "gateway", template)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs(stack)["FullName"].startswith("targetgroup/gateway-Group")
    tags = aws("kms").list_resource_tags(KeyId=outputs(stack)["Key"])["Tags"]
    assert tags == [{"TagKey": "team", "TagValue": "platform"}]
    aws("cloudformation").delete_stack(StackName="gateway")
    assert aws("elbv2").describe_target_groups()["TargetGroups"] == []


def test_a_lambda_backed_custom_resource_is_recorded_as_not_run(aws: Client) -> None:
    cfn = aws("cloudformation")
    trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    role = {"Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]}}}  # fmt: skip
    provider = {"Runtime": "python3.12", "Handler": "index.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(e, c): pass"}}  # fmt: skip
    restrict = {"ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]}, "DefaultSecurityGroupId": "sg-1"}
    template = {
        "Resources": {
            "Role": role,
            "Provider": {"Type": "AWS::Lambda::Function", "Properties": provider},
            "Restrict": {"Type": "Custom::VpcRestrictDefaultSG", "Properties": restrict},
        }
    }
    assert deploy(cfn, "network", template)["StackStatus"] == "CREATE_COMPLETE"

    reasons = {r["LogicalResourceId"]: r.get("ResourceStatusReason", "")
               for r in cfn.describe_stack_resources(StackName="network")["StackResources"]}  # fmt: skip
    assert reasons["Restrict"].startswith("not run by the emulator")
    events = cfn.describe_stack_events(StackName="network")["StackEvents"]
    assert [e["LogicalResourceId"] for e in events if "not run" in e.get("ResourceStatusReason", "")] == ["Restrict"]


def network_stack() -> dict[str, Any]:
    """The network stack's EC2 shapes: the types moto could not delete (spike, F5)."""
    subnet = {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24"}}
    vpc_ref = {"Ref": "Vpc"}
    return {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": subnet,
            "Igw": {"Type": "AWS::EC2::InternetGateway"},
            "Attach": {"Type": "AWS::EC2::VPCGatewayAttachment",
                       "Properties": {"VpcId": vpc_ref, "InternetGatewayId": {"Ref": "Igw"}}},
            "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": vpc_ref}},
            "Assoc": {"Type": "AWS::EC2::SubnetRouteTableAssociation",
                      "Properties": {"RouteTableId": {"Ref": "Table"}, "SubnetId": {"Ref": "Subnet"}}},
            "Default": {"Type": "AWS::EC2::Route", "DependsOn": "Attach",
                        "Properties": {"RouteTableId": {"Ref": "Table"}, "DestinationCidrBlock": "0.0.0.0/0",
                                       "GatewayId": {"Ref": "Igw"}}},
            "Eip": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
            "Nat": {"Type": "AWS::EC2::NatGateway",
                    "Properties": {"SubnetId": {"Ref": "Subnet"},
                                   "AllocationId": {"Fn::GetAtt": ["Eip", "AllocationId"]}}},
            "S3": {"Type": "AWS::EC2::VPCEndpoint",
                   "Properties": {"VpcId": vpc_ref, "ServiceName": "com.amazonaws.us-east-1.s3",
                                  "VpcEndpointType": "Gateway", "RouteTableIds": [{"Ref": "Table"}]}},
            "Logs": {"Type": "AWS::EC2::VPCEndpoint",
                     "Properties": {"VpcId": vpc_ref, "ServiceName": "com.amazonaws.us-east-1.logs",
                                    "VpcEndpointType": "Interface", "SubnetIds": [{"Ref": "Subnet"}]}},
            "Flow": {"Type": "AWS::EC2::FlowLog",
                     "Properties": {"ResourceId": vpc_ref, "ResourceType": "VPC", "TrafficType": "ALL",
                                    "LogDestinationType": "s3", "LogDestination": "arn:aws:s3:::flow-logs"}},
        }
    }  # fmt: skip


def test_a_network_stack_with_endpoints_and_a_nat_gateway_deletes(aws: Client) -> None:
    cfn, ec2 = aws("cloudformation"), aws("ec2")
    aws("s3").create_bucket(Bucket="flow-logs")
    stack = deploy(cfn, "network", network_stack())
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    vpc = cfn.describe_stack_resource(StackName="network", LogicalResourceId="Vpc")["StackResourceDetail"]
    vpc_id = vpc["PhysicalResourceId"]

    cfn.delete_stack(StackName="network")

    assert cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert vpc_id not in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    assert {n["State"] for n in ec2.describe_nat_gateways()["NatGateways"]} == {"deleted"}
    assert {e["State"].lower() for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]} == {"deleted"}
    assert ec2.describe_internet_gateways()["InternetGateways"] == []
    assert ec2.describe_addresses()["Addresses"] == []
    assert ec2.describe_flow_logs()["FlowLogs"] == []


def test_describing_a_deleted_stack_does_not_create_its_resources_again(aws: Client) -> None:
    cfn, sqs = aws("cloudformation"), aws("sqs")
    stack_id = deploy(cfn, "exporter", exporting("jobs"))["StackId"]
    cfn.delete_stack(StackName="exporter")

    deleted = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]  # what the CLI's wait for the deletion reads

    assert deleted["StackStatus"] == "DELETE_COMPLETE"
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_a_stack_that_fails_to_delete_is_delete_failed_not_gone(aws: Client) -> None:
    cfn, ec2 = aws("cloudformation"), aws("ec2")
    deploy(cfn, "vpc", {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.1.0.0/16"}}}})
    vpc_id = cfn.describe_stack_resource(StackName="vpc", LogicalResourceId="Vpc")["StackResourceDetail"]
    vpc_id = vpc_id["PhysicalResourceId"]
    ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.0.0/24")  # outside the stack: the VPC cannot go

    cfn.delete_stack(StackName="vpc")

    stack = cfn.describe_stacks(StackName="vpc")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    latest = cfn.describe_stack_events(StackName="vpc")["StackEvents"][0]
    assert latest["ResourceStatus"] == "DELETE_FAILED"
    assert "has dependencies" in latest["ResourceStatusReason"]


def test_a_failing_execution_fails_the_stack_instead_of_answering_500(aws: Client) -> None:
    cfn = aws("cloudformation")
    template = {
        "Resources": {"P": parameter("/p", {"Fn::ImportValue": "no-such-export"})},
        "Outputs": {"Value": {"Value": {"Fn::GetAtt": ["P", "Value"]}}},
    }

    stack = deploy(cfn, "broken", template)

    assert stack["StackStatus"] == "CREATE_FAILED"
    latest = cfn.describe_stack_events(StackName="broken")["StackEvents"][0]
    assert "No export named no-such-export" in latest["ResourceStatusReason"]


def test_a_template_url_on_the_loopback_endpoint_is_read_path_style(aws: Client, server: Emulator) -> None:
    aws("s3").create_bucket(Bucket="cdk-assets")
    aws("s3").put_object(Bucket="cdk-assets", Key="t.json", Body=json.dumps(exporting("jobs")).encode())
    cfn = aws("cloudformation")

    created = cfn.create_change_set(StackName="from-url", ChangeSetName=CDK_CHANGE_SET, ChangeSetType="CREATE",
                                    TemplateURL=f"{server.url}/cdk-assets/t.json")  # fmt: skip
    cfn.execute_change_set(StackName=created["StackId"], ChangeSetName=created["Id"])

    assert outputs(cfn.describe_stacks(StackName="from-url")["Stacks"][0]) == {"QueueName": "jobs"}


def test_modelled_types_come_from_moto_without_the_forced_placeholders() -> None:
    modelled = emulator.modelled_types()

    assert {"AWS::EC2::VPC", "AWS::ECS::TaskDefinition", "AWS::ElasticLoadBalancingV2::ListenerRule"} <= modelled
    assert not {"AWS::Bedrock::Guardrail", "AWS::SecretsManager::Secret", emulator.PLACEHOLDER_TYPE} & modelled
    assert not set(emulator.FORCED_PLACEHOLDERS) & modelled
    assert all(kind.startswith("AWS::") for kind in modelled)


def test_a_non_loopback_host_is_refused() -> None:
    with pytest.raises(EmulatorError, match="not a loopback address"):
        emulator.start(0, "0.0.0.0")  # noqa: S104 -- the address under test is the one refused


def test_another_moto_release_is_refused() -> None:
    with pytest.raises(EmulatorError, match=r"moto 5\.3\.0 is installed"):
        emulator.check_moto_version("5.3.0")


def test_the_command_prints_ready_answers_and_stops_on_sigterm() -> None:
    # The pipeline's code is installed in the test's venv (the pipelines group): no path to add.
    argv = [sys.executable, "-m", "bedrockgate_pipeline.rehearsal.emulator", "--port", "0"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("emulator ready on http://127.0.0.1:")
        with urllib.request.urlopen(line.rsplit(" ", 1)[1] + "/moto-api/config", timeout=10) as answer:  # noqa: S310
            assert answer.status in (200, 201)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    assert time.monotonic() - started < 5


def test_the_command_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert emulator.main(["--port", "0", "--host", "10.0.0.1"]) == 2
    assert "not a loopback address" in capsys.readouterr().err


def edge_stack() -> dict[str, Any]:
    """A load balancer with its listener, a path rule and a target group, as the edge stack has them."""

    def subnet(cidr: str, zone: str) -> dict[str, Any]:
        properties = {"VpcId": {"Ref": "Vpc"}, "CidrBlock": cidr, "AvailabilityZone": zone}
        return {"Type": "AWS::EC2::Subnet", "Properties": properties}

    forward = [{"Type": "forward", "TargetGroupArn": {"Ref": "Targets"}}]
    return {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
        "SubnetA": subnet("10.9.0.0/24", "us-east-1a"),
        "SubnetB": subnet("10.9.1.0/24", "us-east-1b"),
        "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}},
        "Targets": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                    "Properties": {"Port": 4000, "Protocol": "HTTP", "VpcId": {"Ref": "Vpc"}, "TargetType": "ip"}},
        "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener",
                     "Properties": {"LoadBalancerArn": {"Ref": "Alb"}, "Port": 80, "Protocol": "HTTP",
                                    "DefaultActions": forward}},
        "Phoenix": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                    "Properties": {"ListenerArn": {"Ref": "Listener"}, "Priority": 10, "Actions": forward,
                                   "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {
                                       "Values": ["/phoenix/*"]}}]}},
    }}  # fmt: skip


def test_an_edge_stack_deletes_though_its_load_balancer_took_the_listener_with_it(aws: Client) -> None:
    """Seen in the rehearsal: the listener's delete ran after the balancer's and found nothing (ListenerNotFound)."""
    cfn, elbv2 = aws("cloudformation"), aws("elbv2")
    stack = deploy(cfn, "edge", edge_stack())
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    elbv2.delete_load_balancer(LoadBalancerArn=elbv2.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"])

    cfn.delete_stack(StackName="edge")

    assert cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert elbv2.describe_target_groups()["TargetGroups"] == []
