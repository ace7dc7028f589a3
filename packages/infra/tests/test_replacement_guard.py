"""The replacement guard, offline, on real synthesized templates and CDK's real diff engine.

- A second deploy of the same app changes nothing; adding a model group updates in place (the task
  definition is replaced, which is stateless) and passes.
- A change that forces a stateful resource's replacement (the Aurora cluster's identifier, the
  cache's subnet group or engine, a secret's name) is refused, naming the stack, the logical id, the
  impact, the property that forces it and the flag; so is a deletion, and a retained resource leaving.
- ``--allow-replace`` unblocks exactly the ids it names (``STACK/ID`` in one stack only).
- Properties over generated pairs of real templates (one Node.js process serves every example): a
  stateful resource's logical id never disappears unless allowed, and the blocked set is exactly the
  disappeared stateful ids less the allowed ones; adding stateless resources never refuses.
- The deployed side comes from a directory, a file, or CloudFormation's GetTemplate (stubbed here
  with botocore's Stubber, as the other AWS reads of this package are; the rehearsal reads moto).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information
import pytest
import yaml
from bedrockgate.infra.cli import main
from bedrockgate.infra.exceptions import ReplacementRefusedError, TemplateDiffError, TemplateSourceError
from bedrockgate.infra.replacement_guard import Verdict, guard
from bedrockgate.infra.report import Synthesized, synthesize
from bedrockgate.infra.settings import DeploymentSettings
from bedrockgate.infra.stack_templates import (
    assembly_stacks,
    deployed_from_cloudformation,
    deployed_from_directory,
)
from bedrockgate.infra.stateful import STATEFUL, is_stateful
from bedrockgate.infra.template_diff import (
    DIFF_PACKAGE,
    DIFF_VERSION,
    DiffEngine,
    Impact,
    StackPair,
    engine_files,
    install_engine,
)
from botocore.stub import Stubber  # type: ignore[import-untyped]  # botocore ships no type information
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO: Final = Path(__file__).resolve().parents[3]
DATA: Final = "bedrockgate-dev-data"
PHOENIX: Final = "bedrockgate-dev-phoenix"
EDGE: Final = "bedrockgate-dev-edge"
CLUSTER: Final = "DatabaseB269D8BB"  # the same construct path in the data and the Phoenix stacks
WRITER: Final = "Databasewriter2462CC03"
CACHE: Final = "Cache"
CACHE_TOKEN: Final = "CacheAuthTokenAAA23466"  # noqa: S105  # a logical id, not a token
ACCESS_LOGS: Final = "AccessLogs8B620ECA"
CREATED: Final = datetime(2026, 1, 1, tzinfo=UTC)
REVIEWED_STATELESS: Final = frozenset({
    "AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::Bedrock::GuardrailVersion", "AWS::CDK::Metadata", "AWS::CertificateManager::Certificate",
    "AWS::CloudFront::Distribution", "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard", "AWS::EC2::EIP",
    "AWS::EC2::FlowLog", "AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::Route",
    "AWS::EC2::RouteTable", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::SecurityGroupIngress", "AWS::EC2::Subnet", "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::VPC",
    "AWS::EC2::VPCEndpoint", "AWS::EC2::VPCGatewayAttachment", "AWS::ECS::Cluster", "AWS::ECS::Service",
    "AWS::ECS::TaskDefinition", "AWS::ElastiCache::SubnetGroup", "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule", "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::IAM::Policy", "AWS::IAM::Role", "AWS::Lambda::Function",
    "AWS::Lambda::Permission", "AWS::Lex::Bot", "AWS::Lex::BotAlias", "AWS::Lex::BotVersion",
    "AWS::Logs::MetricFilter", "AWS::Logs::QueryDefinition",
    "AWS::RDS::DBClusterParameterGroup", "AWS::RDS::DBSubnetGroup", "AWS::Route53::RecordSet",
    "AWS::S3::BucketPolicy", "AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "AWS::StepFunctions::StateMachine",
    "AWS::SecretsManager::SecretTargetAttachment", "AWS::ServiceDiscovery::PrivateDnsNamespace",
    "AWS::ServiceDiscovery::Service", "AWS::WAFv2::IPSet", "AWS::WAFv2::LoggingConfiguration", "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation", "Custom::CrossRegionExportReader", "Custom::CrossRegionExportWriter",
    "Custom::DatabaseMigration", "Custom::VpcRestrictDefaultSG",
})  # fmt: skip
"""Every other type in our templates (dev and domain shapes; the CDK CLI adds ``AWS::CDK::Metadata``), each
reviewed as holding nothing a redeploy cannot restore: its whole state is in the template."""

Templates = dict[str, dict[str, Any]]
Edit = Callable[[Templates], None]


@pytest.fixture(scope="module")
def engine() -> Iterator[DiffEngine]:
    with DiffEngine() as running:
        yield running


@pytest.fixture(scope="module")
def with_another_model_group(dev_settings: DeploymentSettings, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The dev app after a config change: a fourth model group (Amazon Nova Lite)."""
    config = yaml.safe_load((REPO / "examples" / "agents-gateway.yaml").read_text(encoding="utf-8"))
    config["model_list"].append({
        "model_name": "nova-lite",
        "litellm_params": {"model": "bedrock/amazon.nova-lite-v1:0", "aws_region_name": "os.environ/AWS_REGION"},
        "model_info": {"id": "nova-lite-1", "mode": "chat"},
    })  # fmt: skip
    folder = tmp_path_factory.mktemp("more-models")
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    settings = dev_settings.model_copy(update={"gateway_config": folder / "config.yaml"})
    return synthesize(settings, folder / "cdk.out")


def copied(synthesized: Synthesized) -> Templates:
    return copy.deepcopy(synthesized.templates)


def pairs(deployed: Templates, synthesized: Templates) -> list[StackPair]:
    return [StackPair(name, deployed.get(name), template) for name, template in synthesized.items()]


def judged(engine: DiffEngine, deployed: Templates, synthesized: Templates, *allow: str) -> Verdict:
    return guard(pairs(deployed, synthesized), allow, engine=engine)


def blocked(verdict: Verdict) -> set[str]:
    return {refusal.path for refusal in verdict.blocked}


def properties(templates: Templates, stack: str, logical_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = templates[stack]["Resources"][logical_id]["Properties"]
    return resource


# --- what passes --------------------------------------------------------------------------------


def test_a_second_deploy_of_the_same_app_changes_nothing_and_passes(dev: Synthesized, engine: DiffEngine) -> None:
    verdict = judged(engine, copied(dev), dev.templates)
    assert verdict.passed
    assert all(not diff.resources for diff in verdict.diffs)
    assert verdict.summary().endswith("ok: no stateful resource is replaced or deleted without --allow-replace")


def test_adding_a_model_group_updates_in_place_and_passes(
    dev: Synthesized, with_another_model_group: Synthesized, engine: DiffEngine
) -> None:
    verdict = judged(engine, copied(dev), with_another_model_group.templates)
    assert verdict.passed, verdict.summary()
    assert verdict.refusals == ()
    changes = {(diff.stack, change.logical_id): change for diff in verdict.diffs for change in diff.resources}
    assert {stack for stack, _ in changes} == {"bedrockgate-dev-gateway", "bedrockgate-dev-observability"}
    assert not any(is_stateful(change.old_type) or is_stateful(change.new_type) for change in changes.values())
    # The task definitions (the gateway's and the migration's, whose config digest changed) are replaced (ECS
    # registers new revisions): stateless, so not refused. The migration runs again: its ConfigDigest changed.
    tasks = [change for change in changes.values() if change.new_type == "AWS::ECS::TaskDefinition"]
    assert len(tasks) == 2
    assert {task.impact for task in tasks} == {Impact.WILL_REPLACE}
    # (A custom resource's properties have no CloudFormation spec: the engine reports the change, not an impact.)
    [migration] = [change for change in changes.values() if change.new_type == "Custom::DatabaseMigration"]
    assert [prop.name for prop in migration.properties] == ["ConfigDigest"]
    assert migration.impact is Impact.NO_CHANGE
    assert {change.impact for change in changes.values() if change is not migration} <= {
        Impact.WILL_UPDATE,
        Impact.WILL_CREATE,
        Impact.WILL_REPLACE,
    }


def test_a_stack_not_deployed_yet_is_all_creates(dev: Synthesized, engine: DiffEngine) -> None:
    deployed = copied(dev)
    del deployed[DATA]
    verdict = judged(engine, deployed, dev.templates)
    assert verdict.passed
    [data] = [diff for diff in verdict.diffs if diff.stack == DATA]
    assert {change.impact for change in data.resources} == {Impact.WILL_CREATE}
    assert len(data.resources) == len(dev.templates[DATA]["Resources"])
    assert f"{DATA}: not deployed: {len(data.resources)} resources to create" in verdict.summary()


# --- what is refused ----------------------------------------------------------------------------


def _renamed_cluster(templates: Templates) -> None:
    properties(templates, DATA, CLUSTER)["DBClusterIdentifier"] = "bedrockgate-dev-litellm-before"


def _other_subnet_group(templates: Templates) -> None:
    properties(templates, DATA, CACHE)["CacheSubnetGroupName"] = "bedrockgate-dev-cache-subnets-before"


def _other_engine(templates: Templates) -> None:
    properties(templates, DATA, CACHE)["Engine"] = "redis"


def _renamed_secret(templates: Templates) -> None:
    properties(templates, DATA, CACHE_TOKEN)["Name"] = "bedrockgate-dev/redis/auth-token"


@pytest.mark.parametrize(
    ("deployed_as", "refused", "forced_by"),
    [
        pytest.param(_renamed_cluster, {CLUSTER, WRITER}, "DBClusterIdentifier", id="aurora-cluster-identifier"),
        pytest.param(_other_subnet_group, {CACHE}, "CacheSubnetGroupName", id="cache-subnet-group"),
        pytest.param(_other_engine, {CACHE}, "Engine", id="cache-engine"),
        pytest.param(_renamed_secret, {CACHE_TOKEN}, "Name", id="secret-name"),
    ],
)
def test_a_change_that_forces_a_stateful_replacement_is_refused_naming_what_where_and_the_flag(
    dev: Synthesized, engine: DiffEngine, deployed_as: Edit, refused: set[str], forced_by: str
) -> None:
    deployed = copied(dev)
    deployed_as(deployed)
    verdict = judged(engine, deployed, dev.templates)
    assert not verdict.passed
    assert blocked(verdict) == {f"{DATA}/{name}" for name in refused}
    first = next(refusal for refusal in verdict.blocked if refusal.logical_id in refused - {WRITER})
    assert first.impact is Impact.WILL_REPLACE
    assert any(cause.startswith(forced_by) for cause in first.causes)
    text = verdict.summary()
    line = next(line for line in text.splitlines() if line.startswith(f"  {DATA}/{first.logical_id} "))
    assert "would be replaced: WILL_REPLACE" in line
    assert forced_by in line
    flag = f"{DATA}/{first.logical_id}" if first.logical_id in dev.templates[PHOENIX]["Resources"] else first.logical_id
    assert line.endswith(f"If you mean it, pass --allow-replace {flag}")
    with pytest.raises(ReplacementRefusedError, match=re.escape(f"{DATA}/{first.logical_id}")):
        verdict.raise_if_refused()
    # Allowing exactly those ids lets the deploy go ahead, and says so.
    allowed = judged(engine, deployed, dev.templates, *(f"{DATA}/{name}" for name in refused))
    assert allowed.passed
    assert f"({len(refused)} allowed by --allow-replace)" in allowed.summary()


def test_deleting_a_stateful_resource_is_refused_and_a_retained_one_leaving_too(
    dev: Synthesized, engine: DiffEngine
) -> None:
    synthesized = copied(dev)
    del synthesized[DATA]["Resources"][CACHE]
    del synthesized[EDGE]["Resources"][ACCESS_LOGS]  # DeletionPolicy Retain: orphaned, not deleted
    verdict = judged(engine, copied(dev), synthesized)
    impacts = {refusal.path: refusal.impact for refusal in verdict.blocked}
    assert impacts == {f"{DATA}/{CACHE}": Impact.WILL_DESTROY, f"{EDGE}/{ACCESS_LOGS}": Impact.WILL_ORPHAN}
    text = verdict.summary()
    assert f"{DATA}/{CACHE} (AWS::ElastiCache::ReplicationGroup) would be deleted: WILL_DESTROY" in text
    assert f"{EDGE}/{ACCESS_LOGS} (AWS::S3::Bucket) would leave the stack" in text


def test_allow_replace_unblocks_exactly_the_ids_it_names(dev: Synthesized, engine: DiffEngine) -> None:
    deployed = copied(dev)
    _renamed_secret(deployed)
    _other_engine(deployed)
    everything = {f"{DATA}/{CACHE}", f"{DATA}/{CACHE_TOKEN}"}
    assert blocked(judged(engine, deployed, dev.templates)) == everything
    assert blocked(judged(engine, deployed, dev.templates, CACHE)) == {f"{DATA}/{CACHE_TOKEN}"}
    assert blocked(judged(engine, deployed, dev.templates, CACHE_TOKEN, CACHE)) == set()
    unused = judged(engine, deployed, dev.templates, CACHE, "Cach", f"{PHOENIX}/{CACHE_TOKEN}")
    assert blocked(unused) == {f"{DATA}/{CACHE_TOKEN}"}
    assert unused.unused == ("Cach", f"{PHOENIX}/{CACHE_TOKEN}")
    assert "note: --allow-replace Cach names nothing this deploy replaces or deletes" in unused.summary()


def test_a_logical_id_in_two_stacks_is_allowed_in_one_with_its_stack_name(dev: Synthesized, engine: DiffEngine) -> None:
    deployed = copied(dev)
    properties(deployed, DATA, CLUSTER)["DBClusterIdentifier"] = "before"
    properties(deployed, PHOENIX, CLUSTER)["DBClusterIdentifier"] = "before"
    both = {f"{stack}/{name}" for stack in (DATA, PHOENIX) for name in (CLUSTER, WRITER)}
    assert blocked(judged(engine, deployed, dev.templates)) == both
    assert blocked(judged(engine, deployed, dev.templates, CLUSTER, WRITER)) == set()
    narrowed = judged(engine, deployed, dev.templates, f"{DATA}/{CLUSTER}", f"{DATA}/{WRITER}")
    assert blocked(narrowed) == {f"{PHOENIX}/{CLUSTER}", f"{PHOENIX}/{WRITER}"}
    assert f"pass --allow-replace {PHOENIX}/{CLUSTER}" in narrowed.summary()


def test_a_change_the_engine_cannot_judge_counts_as_a_possible_replacement_on_a_stateful_resource(
    engine: DiffEngine,
) -> None:
    def stack(value: int) -> dict[str, Any]:
        return {"Resources": {
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"NotInTheSpec": value}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"NotInTheSpec": value}},
        }}  # fmt: skip

    verdict = guard([StackPair("s", stack(1), stack(2))], engine=engine)
    [refusal] = verdict.blocked
    assert (refusal.logical_id, refusal.impact) == ("Secret", Impact.MAY_REPLACE)
    assert refusal.causes == ("NotInTheSpec (not in the engine's spec: impact unknown)",)
    # The engine itself says NO_CHANGE for both: the guard, not the engine, refuses the unknown.
    assert {change.impact for diff in verdict.diffs for change in diff.resources} == {Impact.NO_CHANGE}


def test_a_stateful_type_change_is_a_replacement(engine: DiffEngine) -> None:
    before = {"Resources": {"Store": {"Type": "AWS::DynamoDB::Table", "Properties": {}}}}
    after = {"Resources": {"Store": {"Type": "AWS::SSM::Parameter", "Properties": {}}}}
    [refusal] = guard([StackPair("s", before, after)], engine=engine).blocked
    assert (refusal.impact, refusal.resource_type) == (Impact.WILL_REPLACE, "AWS::DynamoDB::Table")
    assert refusal.causes == ("its type changes from AWS::DynamoDB::Table to AWS::SSM::Parameter",)


# --- properties over generated pairs of real templates ------------------------------------------

STACKS: Final = (DATA, PHOENIX, EDGE, "bedrockgate-dev-chatbot", "bedrockgate-dev-registry")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_stateful_logical_id_never_disappears_unless_allowed(
    dev: Synthesized, engine: DiffEngine, data: st.DataObject
) -> None:
    """Removed or renamed (a new logical id is a new resource): blocked == disappeared stateful ids - allowed."""
    stack = data.draw(st.sampled_from(STACKS))
    resources = dev.templates[stack]["Resources"]
    ids = sorted(resources)
    gone = data.draw(st.sets(st.sampled_from(ids), max_size=6))
    renamed = data.draw(st.sets(st.sampled_from(sorted(gone)), max_size=len(gone))) if gone else set()
    allowed_ids = data.draw(st.sets(st.sampled_from(ids), max_size=6))
    allow = [data.draw(st.sampled_from([name, f"{stack}/{name}"])) for name in sorted(allowed_ids)]
    synthesized = copy.deepcopy(dev.templates[stack])
    for name in gone:
        resource = synthesized["Resources"].pop(name)
        if name in renamed:
            synthesized["Resources"][f"{name}Renamed"] = resource
    verdict = guard([StackPair(stack, dev.templates[stack], synthesized)], allow, engine=engine)
    disappeared = {name for name in gone if is_stateful(resources[name]["Type"])}
    assert {refusal.logical_id for refusal in verdict.blocked} == disappeared - allowed_ids
    assert verdict.passed == (disappeared <= allowed_ids)
    assert {refusal.impact for refusal in verdict.refusals} <= {Impact.WILL_DESTROY, Impact.WILL_ORPHAN}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stack=st.sampled_from(STACKS),
    added=st.dictionaries(st.from_regex(r"\AAdded[A-Z][A-Za-z0-9]{0,12}\Z"), st.integers(0, 10_000), min_size=1,
                          max_size=5),
)  # fmt: skip
def test_adding_stateless_resources_never_refuses(
    dev: Synthesized, engine: DiffEngine, stack: str, added: dict[str, int]
) -> None:
    """Copies of the app's own stateless resources (a policy, a role, an alarm...), under new logical ids."""
    stateless = [
        resource
        for name in sorted(dev.templates)
        for _, resource in sorted(dev.templates[name]["Resources"].items())
        if not is_stateful(resource["Type"]) and resource["Type"] != "AWS::CDK::Metadata"
    ]
    synthesized = copy.deepcopy(dev.templates[stack])
    for name, pick in added.items():
        synthesized["Resources"][name] = copy.deepcopy(stateless[pick % len(stateless)])
    verdict = guard([StackPair(stack, dev.templates[stack], synthesized)], engine=engine)
    assert verdict.passed
    assert verdict.refusals == ()
    [diff] = verdict.diffs
    assert {change.logical_id: change.impact for change in diff.resources} == dict.fromkeys(added, Impact.WILL_CREATE)


# --- the stateful set and the pinned engine -----------------------------------------------------


def test_the_stateful_set_holds_the_issues_types_each_with_a_reason_and_every_type_we_deploy_is_classified(
    dev: Synthesized, with_domain: Synthesized
) -> None:
    named = {"AWS::RDS::DBCluster", "AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::ServerlessCache",
             "AWS::SecretsManager::Secret", "AWS::Bedrock::Guardrail", "AWS::Logs::LogGroup"}  # fmt: skip
    assert named <= set(STATEFUL)
    assert all(reason.strip() for reason in STATEFUL.values())
    assert not REVIEWED_STATELESS & set(STATEFUL)
    deployed = {
        resource["Type"]
        for synthesized in (dev, with_domain)
        for template in synthesized.templates.values()
        for resource in template["Resources"].values()
    }
    unclassified = deployed - set(STATEFUL) - REVIEWED_STATELESS
    assert not unclassified, f"classify {sorted(unclassified)}: stateful.py (with a reason) or REVIEWED_STATELESS"
    assert REVIEWED_STATELESS - deployed == {"AWS::CDK::Metadata"}, "drop what the templates no longer hold"


def test_the_engine_is_the_pinned_release_with_every_dependency_locked() -> None:
    files = engine_files()
    package = json.loads(files["package.json"])
    lock = json.loads(files["package-lock.json"])
    assert package["dependencies"] == {DIFF_PACKAGE: DIFF_VERSION}
    assert lock["packages"][""]["dependencies"] == {DIFF_PACKAGE: DIFF_VERSION}
    assert lock["packages"][f"node_modules/{DIFF_PACKAGE}"]["version"] == DIFF_VERSION
    assert all(entry.get("integrity", "").startswith("sha512-") for name, entry in lock["packages"].items() if name)
    installed = install_engine()
    assert (
        json.loads((installed / "node_modules" / DIFF_PACKAGE / "package.json").read_text())["version"] == DIFF_VERSION
    )
    assert install_engine() == installed  # installed once, then reused


def test_an_engine_that_cannot_be_installed_says_how_to_fill_npms_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline (as in the pipeline's containers) with an empty npm cache: the error names the fix."""
    monkeypatch.setenv("npm_config_offline", "true")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "empty-npm-cache"))
    with pytest.raises(TemplateDiffError, match=r"ENOTCACHED.*npm ci --omit=peer --ignore-scripts.*npm_config_cache"):
        install_engine(tmp_path / "engines")
    assert [path.name for path in (tmp_path / "engines").iterdir()] == []  # no half-installed engine left


# --- where the templates come from, and the command ---------------------------------------------


def _write(templates: Templates, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, template in templates.items():
        (folder / f"{name}.template.json").write_text(json.dumps(template), encoding="utf-8")
    return folder


def test_the_guard_command_compares_two_directories_offline(
    dev: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed = copied(dev)
    _renamed_secret(deployed)
    folder = _write(deployed, tmp_path / "deployed")
    assert main(["guard", "--synthesized", str(dev.outdir), "--deployed", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert (
        f"{DATA}/{CACHE_TOKEN} (AWS::SecretsManager::Secret) would be replaced: WILL_REPLACE (Name (WILL_REPLACE))"
        in out
    )
    assert "bedrockgate-dev-network: no changes" in out
    assert err.startswith("bedrockgate-infra guard: refused: 1 stateful resource(s)")
    arguments = ["guard", "--synthesized", str(dev.outdir), "--deployed", str(folder), "--allow-replace", CACHE_TOKEN]
    assert main(arguments) == 0
    assert capsys.readouterr().out.rstrip().endswith("(1 allowed by --allow-replace)")
    # One file: that stack's deployed template; the other stacks are not deployed yet.
    single = folder / f"{DATA}.template.json"
    assert main(["guard", "--synthesized", str(dev.outdir), "--deployed", str(single)]) == 1
    assert "bedrockgate-dev-network: not deployed" in capsys.readouterr().out


def test_the_deployed_side_may_be_an_earlier_assembly_and_a_missing_one_says_how_to_make_it(
    dev: Synthesized, tmp_path: Path
) -> None:
    names = [stack.name for stack in assembly_stacks(dev.outdir)]
    assert names[0] == "bedrockgate-dev-registry"
    assert deployed_from_directory(dev.outdir, names) == dev.templates
    with pytest.raises(TemplateSourceError, match=r"no manifest\.json.*cdk synth --quiet --output"):
        assembly_stacks(tmp_path)
    with pytest.raises(TemplateSourceError, match="no such file or directory"):
        deployed_from_directory(tmp_path / "absent", names)
    (tmp_path / "other.template.json").write_text("{}", encoding="utf-8")
    with pytest.raises(TemplateSourceError, match=r"named for stack 'other'.*<stack>\.template\.json"):
        deployed_from_directory(tmp_path / "other.template.json", names)
    (tmp_path / f"{DATA}.template.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(TemplateSourceError, match=f"{DATA}.template.json is not a readable JSON template"):
        deployed_from_directory(tmp_path, names)


def stubbed_cloudformation() -> Any:
    """CloudFormation as boto3 builds it, for a Stubber to answer."""
    return boto3.Session(
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="stub",  # noqa: S106  # not a secret: the Stubber answers, nothing is sent
    ).client("cloudformation", region_name="us-east-1")


def test_the_deployed_templates_are_read_with_get_template_in_each_stacks_region(dev: Synthesized) -> None:
    stacks = assembly_stacks(dev.outdir)
    client = stubbed_cloudformation()
    regions: list[str | None] = []

    def in_region(region: str | None) -> Any:
        regions.append(region)
        return client

    with Stubber(client) as stub:
        for stack in stacks:
            request = {"StackName": stack.name}
            if stack.name == DATA:  # never deployed
                stub.add_client_error("describe_stacks", "ValidationError", f"Stack with id {DATA} does not exist",
                                      expected_params=request)  # fmt: skip
                continue
            status = "REVIEW_IN_PROGRESS" if stack.name == PHOENIX else "UPDATE_COMPLETE"
            described = {"StackName": stack.name, "StackStatus": status, "CreationTime": CREATED}
            stub.add_response("describe_stacks", {"Stacks": [described]}, request)
            if stack.name != PHOENIX:  # created for a change set that never ran: nothing deployed
                body = json.dumps(dev.templates[stack.name])
                stub.add_response("get_template", {"TemplateBody": body}, {**request, "TemplateStage": "Original"})
        deployed = deployed_from_cloudformation(stacks, client=in_region)
        stub.assert_no_pending_responses()
    assert regions == ["us-east-1"] * len(stacks)
    assert deployed[DATA] is None
    assert deployed[PHOENIX] is None
    assert {name: template for name, template in deployed.items() if template} == {
        name: template for name, template in dev.templates.items() if name not in (DATA, PHOENIX)
    }


def test_a_get_template_that_fails_names_the_stack_and_the_permissions(dev: Synthesized) -> None:
    [registry, *_] = assembly_stacks(dev.outdir)
    client = stubbed_cloudformation()
    with Stubber(client) as stub:
        stub.add_client_error("describe_stacks", "AccessDenied", "not authorized to perform DescribeStacks")
        with pytest.raises(TemplateSourceError, match=r"stack bedrockgate-dev-registry in us-east-1.*GetTemplate"):
            deployed_from_cloudformation([registry], client=lambda _: client)
