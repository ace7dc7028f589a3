"""moto 5.2.5's server on loopback, patched so this CDK app deploys, updates in place and is torn down.

The deploy rehearsal runs the pipeline's own ``bedrockgate-infra cdk`` commands against this server.
``packages/infra/rehearsal-spike.md`` found where moto's CloudFormation layer breaks (F1-F5). Each
patch below names the moto line it works around and the finding, and ``apply_patches`` refuses any
other moto version, so an upgrade that fixes one shows up. A status from this emulator proves little
on its own: placeholder types and Lambda-backed custom resources carry a ``ResourceStatusReason``
(DescribeStackResources) so the rehearsal can list what was never really created or run.

``python -m bedrockgate_pipeline.rehearsal.emulator --port N`` prints ``emulator ready on URL`` once
the server answers and serves until SIGTERM or SIGINT. ``start(port)`` does the same in-process.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import signal
import sys
import threading
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from types import FrameType, MappingProxyType
from typing import Any
from urllib.parse import urlparse

import moto
from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudformation import models as cfn
from moto.cloudformation import parsing, responses, utils
from moto.cloudformation.custom_model import CustomModel
from moto.cloudformation.exceptions import CloudFormationError, UnformattedGetAttTemplateException, ValidationError
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.exceptions import InvalidRouteError, InvalidRouteTableIdError
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ec2.models.flow_logs import FlowLogs
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.nat_gateways import NatGateway
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment
from moto.ecs.models import Cluster, Service, TaskDefinition, ecs_backends
from moto.elbv2.models import FakeListener, FakeListenerRule, FakeTargetGroup, elbv2_backends
from moto.kms.models import Key
from moto.moto_api._internal import mock_random
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from bedrockgate_pipeline.errors import PipelineError

MOTO_VERSION = "5.2.5"
"""The moto release these patches were written against (the rehearsal group pins it exactly)."""
LOOPBACK = "127.0.0.1"
PLACEHOLDER_TYPE = "BedrockGate::Emulator::Placeholder"
"""What ``Placeholder.cloudformation_type()`` answers; moto's registry lists it, ``modelled_types`` does not."""
NOT_MODELLED = "placeholder: moto 5.2.5 does not model this type; nothing was created"
CUSTOM_RESOURCE_NOT_RUN = (
    "not run by the emulator: the provider Lambda was never invoked (it needs Docker); check it from the template"
)
FORCED_PLACEHOLDERS: Mapping[str, str] = MappingProxyType(
    {
        "AWS::RDS::DBInstance": (
            "moto models it, but an Aurora member (engine aurora-postgresql) crashes its create "
            "(KeyError, moto/rds/models.py:1236) and its DBCluster is not modelled at all"
        ),
    }
)
"""Types moto models but that this app cannot use on moto: always a placeholder, with the reason."""
CHANGE_SET_SCOPE = "StackName must be specified if ChangeSetName is not specified as an ARN."


class EmulatorError(PipelineError):
    """The emulator cannot start as asked (a host off loopback, a busy port, another moto release)."""


class ChangeSetNotFoundError(CloudFormationError):
    """CloudFormation's ``ChangeSetNotFound``: what the CDK CLI's ``waitForGone`` waits for."""

    code = "ChangeSetNotFoundException"  # the model's shape id; moto serializes it as ChangeSetNotFound/404

    def __init__(self, name: str) -> None:
        super().__init__(f"ChangeSet [{name}] does not exist")


class InvalidChangeSetStatusError(CloudFormationError):
    """CloudFormation's answer to executing a change set that is not AVAILABLE (already run, or empty)."""

    code = "InvalidChangeSetStatusException"

    def __init__(self, change_set: cfn.ChangeSet) -> None:
        super().__init__(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of "
            f"[{change_set.execution_status}]"
        )


class Placeholder(CloudFormationModel):
    """A resource of a type moto cannot create (F3/F4): stored with its properties, never acted on.

    ``Ref`` is an ARN-shaped id, because IAM policies refuse a plain name
    (``MalformedPolicyDocument: Resource ... must be in ARN format``); so is an ``Fn::GetAtt`` of an
    attribute whose name ends in ``Arn`` (``GuardrailArn`` in the gateway's ApplyGuardrail grant); any
    other ``Fn::GetAtt`` is ``<name>.<attribute>``. Its ``ResourceStatusReason`` says it is a placeholder.
    """

    # moto's model tracker files each model under its module's second dotted part (core/base_backend.py:33);
    # as a CloudFormation model, moto's reset clears its instances with the rest.
    __module__ = "moto.cloudformation.placeholder"

    def __init__(
        self, resource_type: str, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        _, service, kind = [*resource_type.split("::"), "", ""][:3]
        self.resource_type = resource_type
        self.name = name
        self.properties = properties
        self.arn = f"arn:aws:{service.lower()}:{region_name}:{account_id}:{kind.lower()}/{name}"
        reason = FORCED_PLACEHOLDERS.get(resource_type)
        self.resource_status_reason = f"placeholder: {reason}" if reason else NOT_MODELLED

    @staticmethod
    def cloudformation_name_type() -> str:
        """No name property: moto generates ``<stack>-<logical id>-<suffix>`` unless the template names it."""
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        """A sentinel: the real type is per instance (``resource_type``)."""
        return PLACEHOLDER_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        """Every attribute exists: the template was validated by cfn-lint, not by moto."""
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        """An ``...Arn`` attribute: the ARN-shaped id (IAM takes it); any other: ``<name>.<attribute>``."""
        if attribute_name.endswith("Arn"):
            return self.arn
        return f"{self.name}.{attribute_name}"

    @property
    def physical_resource_id(self) -> str:
        """What ``Ref`` answers: the ARN-shaped id."""
        return self.arn

    def is_created(self) -> bool:
        """Complete at once: there is nothing to wait for."""
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Placeholder:
        """Named after its ``Name`` property when it has a plain one (a readable ARN), else moto's generated name."""
        properties = cloudformation_json.get("Properties") or {}
        name = properties.get("Name")
        return cls(
            str(kwargs["ResourceType"]),
            name if isinstance(name, str) and name else resource_name,
            properties,
            account_id,
            region_name,
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Placeholder,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Placeholder:
        """In place: the same physical id, the new properties (replacement is the diff guard's business)."""
        original_resource.properties = cloudformation_json.get("Properties") or {}
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        """Nothing was created, so nothing is deleted."""

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing was created, so nothing is deleted."""


def _set(owner: object, name: str, value: object) -> None:
    setattr(owner, name, value)


def _backend(account_id: str, region_name: str) -> cfn.CloudFormationBackend:
    return cfn.cloudformation_backends[account_id][region_name]


# F1 -----------------------------------------------------------------------------------------------


def read_templates_from_loopback_urls() -> None:
    """F1: a ``TemplateURL`` on ``127.0.0.1:PORT`` is path-style, as it is for ``localhost``.

    moto/cloudformation/utils.py:122 treats only URLs containing ``localhost`` as path-style; for
    ``http://127.0.0.1:5000/bucket/key`` it takes the bucket to be ``127`` (line 134): NoSuchBucket at
    CreateChangeSet. With this patch ``AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION`` is no longer required.
    """
    original = utils.get_stack_from_s3_url

    def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
        parts = urlparse(template_url)
        if _is_loopback(parts.hostname or ""):
            port = f":{parts.port}" if parts.port else ""
            template_url = parts._replace(netloc=f"localhost{port}").geturl()
        return original(template_url, account_id=account_id, partition=partition)

    for module in (utils, cfn, responses):  # models and responses imported the name itself
        _set(module, "get_stack_from_s3_url", get_stack_from_s3_url)


# F2 -----------------------------------------------------------------------------------------------


def imports_for_change_set_stacks() -> None:
    """F2: a stack created by a change set resolves ``Fn::ImportValue`` against the region's exports.

    moto/cloudformation/models.py:1072-1082 builds the change set's Stack without
    ``cross_stack_resources`` (``create_stack`` passes them, line 1036), so every import raised
    ``No export named ... found`` (parsing.py:226-236).
    """
    original = cfn.CloudFormationBackend.create_change_set

    def create_change_set(self: cfn.CloudFormationBackend, *args: Any, **kwargs: Any) -> tuple[str, str]:
        change_set_id, stack_id = original(self, *args, **kwargs)
        stack = self.stacks[stack_id]
        stack.cross_stack_resources = self.exports  # the live dict: later exports are seen too
        stack.resource_map.cross_stack_resources = self.exports
        return change_set_id, stack_id

    _set(cfn.CloudFormationBackend, "create_change_set", create_change_set)


def _publish_outputs(backend: cfn.CloudFormationBackend, stack: cfn.Stack) -> None:
    """Rebuild the stack's outputs from its current template and replace its exports in the region."""
    stack.output_map = stack._create_output_map()
    previous = {name for name, export in backend.exports.items() if export.exporting_stack_id == stack.stack_id}
    current = stack.exports
    taken = sorted(export.name for export in current if export.name in backend.exports and export.name not in previous)
    if taken:
        raise ValidationError(stack.stack_id, message=f"Export names must be unique across a given region: {taken}")
    for name in previous:
        del backend.exports[name]
    for export in current:
        backend.exports[export.name] = export


def _drop_change_sets(backend: cfn.CloudFormationBackend, stack_id: str) -> None:
    """CloudFormation deletes a stack's change sets once one of them has run (or the stack is deleted)."""
    for change_set_id in [key for key, change_set in backend.change_sets.items() if change_set.stack_id == stack_id]:
        del backend.change_sets[change_set_id]


class _FrozenOutputs(dict[str, parsing.Output]):
    """A stack's outputs and exports as they are now (none if they do not resolve): nothing resolves them again."""

    def __init__(self, stack: cfn.Stack) -> None:
        try:
            outputs = {key: output for key, output in stack.output_map.items() if output is not None}
            exports = list(stack.exports)
        except Exception:  # outputs that no longer resolve: the stack shows none, as a failed one does
            outputs, exports = {}, []
        super().__init__(outputs)
        self.exports = exports


def execute_change_sets_completely() -> None:
    """F2/F4/F5: executing a change set publishes outputs and exports, and a failure fails the stack.

    moto/cloudformation/models.py:1144-1176 applies the change set but never rebuilds ``output_map``
    (built once, at line 451, from the empty template of a CREATE change set) nor registers exports
    (only ``create_stack`` does, 1043-1044): no outputs, and the next stack's import fails. An
    exception in ``apply()`` became an HTTP 500, and the CLI's retry then "succeeded" on the
    half-applied stack (F4, a false success); here it leaves ``CREATE_FAILED``/``UPDATE_FAILED`` with
    the error as the reason and the outputs of before (resolving them on the half-applied stack
    failed, HTTP 500 on DescribeStacks). The executed change sets are dropped, as CloudFormation does.
    """

    def execute_change_set(
        self: cfn.CloudFormationBackend, change_set_name: str, stack_name: str | None = None
    ) -> None:
        change_set = _describe_change_set(self, change_set_name, stack_name)
        if change_set.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatusError(change_set)
        stack = self.stacks[change_set.stack_id]
        verb = change_set.change_set_type
        stack._add_stack_event(f"{verb}_IN_PROGRESS", resource_status_reason="User Initiated")
        before = _FrozenOutputs(stack)
        try:
            change_set.apply()
            stack.template = change_set.template
            stack._parse_template()
            stack.description = stack.template_dict.get("Description")
            stack.parameters = change_set.parameters
            _publish_outputs(self, stack)
        except Exception as error:  # any moto failure is the stack's failure, as CloudFormation reports it
            _set(stack, "output_map", before)  # moto cannot roll back; the outputs at least stay readable
            stack.status = f"{verb}_FAILED"
            stack._add_stack_event(stack.status, resource_status_reason=f"emulator: {type(error).__name__}: {error}")
            change_set.execution_status = "EXECUTE_FAILED"
        else:
            stack.status = f"{verb}_COMPLETE"
            stack._add_stack_event(stack.status)
            change_set.execution_status = "EXECUTE_COMPLETE"
        _drop_change_sets(self, stack.stack_id)

    _set(cfn.CloudFormationBackend, "execute_change_set", execute_change_set)


# F5: change sets by (stack, name) -----------------------------------------------------------------


def _find_change_set(
    backend: cfn.CloudFormationBackend, name_or_arn: str, stack_name_or_id: str | None
) -> cfn.ChangeSet | None:
    if name_or_arn in backend.change_sets:
        return backend.change_sets[name_or_arn]
    if not stack_name_or_id:
        raise ValidationError(message=CHANGE_SET_SCOPE)
    found = [
        change_set
        for change_set in backend.change_sets.values()
        if change_set.change_set_name == name_or_arn
        and stack_name_or_id in (change_set.stack_name, change_set.stack_id)
    ]
    return found[-1] if found else None


def _describe_change_set(
    backend: cfn.CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> cfn.ChangeSet:
    found = _find_change_set(backend, change_set_name, stack_name)
    if found is None:
        raise ChangeSetNotFoundError(change_set_name)
    return found


def _delete_change_set(backend: cfn.CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    found = _find_change_set(backend, change_set_name, stack_name)
    if found is not None:
        del backend.change_sets[found.change_set_id]
    elif change_set_name.startswith("arn:"):
        raise ChangeSetNotFoundError(change_set_name)


def change_sets_by_stack() -> None:
    """F5: change sets are found by (stack, name), as the requests' ``StackName`` says.

    moto/cloudformation/models.py:1120-1142 looks change sets up by name alone across all stacks, and
    every CDK change set is named ``cdk-deploy-change-set``: a second deploy polled another stack's
    executed change set for 10 minutes. A missing one raised ``ValidationError: Stack with id ...``
    where the CLI's ``waitForGone`` waits for ``ChangeSetNotFoundException``, and ``DeleteChangeSet``
    of a missing name hit ``UnboundLocalError`` (line 1129, HTTP 500); CloudFormation answers that
    by name with success, which the CLI's ``cleanupOldChangeset`` relies on.
    """
    _set(cfn.CloudFormationBackend, "describe_change_set", _describe_change_set)
    _set(cfn.CloudFormationBackend, "delete_change_set", _delete_change_set)

    def describe(self: responses.CloudFormationResponse) -> ActionResult:
        backend = self.cloudformation_backend
        return ActionResult(
            _describe_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
        )

    def delete(self: responses.CloudFormationResponse) -> EmptyResult:
        _delete_change_set(self.cloudformation_backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
        return EmptyResult()

    _set(responses.CloudFormationResponse, "describe_change_set", describe)
    _set(responses.CloudFormationResponse, "delete_change_set", delete)


# F5: UsePreviousValue ------------------------------------------------------------------------------


def _with_previous_values(stored: Mapping[str, Any], incoming: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``UsePreviousValue`` made explicit: the stored input, or nothing when there never was one (the default)."""
    explicit = []
    for parameter in incoming:
        key = parameter["ParameterKey"]
        if str(parameter.get("UsePreviousValue", "")).lower() != "true":
            explicit.append(dict(parameter))
        elif key in stored:
            explicit.append({"ParameterKey": key, "ParameterValue": stored[key]})
    return explicit


def previous_parameter_values() -> None:
    """F5: ``UsePreviousValue`` for a parameter the stack never stored keeps its default (``BootstrapVersion``).

    moto/cloudformation/models.py:844-845 reads ``instance.parameters[key]``, the *input* values: a
    stack deployed without ``BootstrapVersion`` (it has a default) raised ``KeyError: 'BootstrapVersion'``
    on UpdateStack (HTTP 500). CreateChangeSet (responses.py:246) took the *resolved* value instead,
    so the SSM-typed parameter was resolved a second time, from its value ("21") as a parameter name.
    """

    def resolve(
        self: cfn.CloudFormationBackend, instance: cfn.Stack | cfn.StackSet, incoming_params: list[dict[str, str]]
    ) -> dict[str, str]:
        explicit = _with_previous_values(instance.parameters, incoming_params)
        return {parameter["ParameterKey"]: parameter["ParameterValue"] for parameter in explicit}

    _set(cfn.CloudFormationBackend, "_resolve_update_parameters", resolve)
    original = responses.CloudFormationResponse.create_change_set

    def create_change_set(self: responses.CloudFormationResponse) -> ActionResult:
        if self._get_param("ChangeSetType", "CREATE") == "UPDATE":
            stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
            self.params["Parameters"] = _with_previous_values(stack.parameters, self._get_param("Parameters", []))
        return original(self)

    _set(responses.CloudFormationResponse, "create_change_set", create_change_set)


# F3/F4: placeholders -------------------------------------------------------------------------------


def placeholders_for_unmodelled_types() -> None:
    """F3/F4: every type moto does not model, and each of ``FORCED_PLACEHOLDERS``, becomes a ``Placeholder``.

    moto/cloudformation/parsing.py:272-282 returns ``None`` for them: a ``Ref`` resolved to nothing and
    the property was dropped silently (258-264), a ``Fn::GetAtt`` failed ("references undefined
    resource", 150-156), an output's GetAtt crashed ``validate_outputs`` (732, HTTP 500). The CFN type
    ``AWS::CloudFormation::CustomResource`` goes to moto's custom resource model like ``Custom::*``.
    """
    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> type[CloudFormationModel]:
        if resource_type == "AWS::CloudFormation::CustomResource":
            return CustomModel
        if resource_type in FORCED_PLACEHOLDERS:
            return Placeholder
        known = resource_type.startswith("Custom::") or resource_type in parsing.NULL_MODELS
        if not known and resource_type not in parsing.get_model_map():
            return Placeholder
        return original(resource_type)

    _set(parsing, "resource_class_from_type", resource_class_from_type)


# F5: update in place, and what reading a stack may do ---------------------------------------------


def keep_resources_without_update() -> None:
    """F5: a modified resource whose moto model cannot update stays as it was instead of vanishing.

    moto/cloudformation/parsing.py:414-428 returns ``None`` when the model has no
    ``update_from_cloudformation_json`` and line 893 stores that ``None`` as the resource: its ``Ref``
    resolves to nothing afterwards and stack deletion skips it. Here the resource keeps its physical
    id and its first properties (moto does not apply the change; the rehearsal checks the template).
    """
    original = parsing.parse_and_update_resource

    def parse_and_update_resource(
        logical_id: str,
        resource_json: dict[str, Any],
        resources_map: parsing.ResourceMap,
        account_id: str,
        region_name: str,
    ) -> Any:
        updated: CloudFormationModel | None = original(
            logical_id, resource_json, resources_map, account_id, region_name
        )
        return updated if updated is not None else resources_map._parsed_resources.get(logical_id)

    _set(parsing, "parse_and_update_resource", parse_and_update_resource)


_SUB_NAME = re.compile(r"\$\{([^!}][^}.]*)")


def _referenced(node: Any) -> set[str]:
    """The logical ids a template fragment reads through ``Ref``, ``Fn::GetAtt`` or ``Fn::Sub``."""
    if isinstance(node, list):
        return set().union(*(_referenced(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set().union(*(_referenced(value) for value in node.values())) if node else set()
    if isinstance(node.get("Ref"), str):
        found.add(node["Ref"])
    target = node.get("Fn::GetAtt")
    if isinstance(target, list) and target:
        found.add(str(target[0]))
    elif isinstance(target, str):
        found.add(target.split(".", 1)[0])
    sub = node.get("Fn::Sub")
    text = sub[0] if isinstance(sub, list) and sub else sub
    if isinstance(text, str):
        found.update(_SUB_NAME.findall(text))
    return found


def update_dependents_of_new_ids() -> None:
    """F5: a resource whose template text is unchanged but which references a resource with a new id is updated too.

    moto/cloudformation/parsing.py:785 picks the resources to modify by comparing template text
    only. A gateway config change registers a new task definition revision (ecs/models.py:284-290),
    but the service's ``TaskDefinition: {Ref: ...}`` reads the same, so moto's service kept the old,
    deregistered revision; CloudFormation updates every resource whose resolved properties change.
    """
    original = parsing.ResourceMap.update

    def update(self: parsing.ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        before = {name: _physical_id(self._parsed_resources.get(name)) for name in self._resource_json_map}
        original(self, template, parameters)
        changed = {
            name for name, old in before.items() if old and _physical_id(self._parsed_resources.get(name)) != old
        }
        done: set[str] = set()
        while changed:
            dependents = [
                name
                for name, resource_json in self._resource_json_map.items()
                if name not in done and name in self._parsed_resources and _referenced(resource_json) & changed
            ]
            changed = set()
            for name in dependents:
                done.add(name)
                old = _physical_id(self._parsed_resources[name])
                updated = parsing.parse_and_update_resource(
                    name, self._resource_json_map[name], self, self._account_id, self._region_name
                )
                self._parsed_resources[name] = updated
                if _physical_id(updated) != old:
                    changed.add(name)

    _set(parsing.ResourceMap, "update", update)


_FROZEN = "_emulator_frozen"


def resources_only_created_by_create_or_update() -> None:
    """F5: reading a stack never creates its resources again; only create and update do.

    moto/cloudformation/parsing.py:558-575 ``ResourceMap.__getitem__`` creates any resource it has
    not parsed yet. After a stack was deleted, DescribeStacks of its id (the CLI's wait for the
    deletion) resolved the outputs again and re-created what they reference: the spike's ECR
    repository and log group "left behind", and here a new VPC and task definition revision.
    """
    lookup, create, update, delete = (parsing.ResourceMap.__getitem__, parsing.ResourceMap.create,
                                      parsing.ResourceMap.update, parsing.ResourceMap.delete)  # fmt: skip

    def getitem(self: parsing.ResourceMap, key: str) -> Any:
        if getattr(self, _FROZEN, False) and key not in self._parsed_resources and key in self._resource_json_map:
            return None
        return lookup(self, key)

    def unfrozen(method: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: parsing.ResourceMap, *args: Any, **kwargs: Any) -> Any:
            _set(self, _FROZEN, False)
            try:
                return method(self, *args, **kwargs)
            finally:
                _set(self, _FROZEN, True)

        return run

    def frozen_delete(self: parsing.ResourceMap) -> None:
        _set(self, _FROZEN, True)
        delete(self)

    _set(parsing.ResourceMap, "__getitem__", getitem)
    _set(parsing.ResourceMap, "create", unfrozen(create))
    _set(parsing.ResourceMap, "update", unfrozen(update))
    _set(parsing.ResourceMap, "delete", frozen_delete)


def _physical_id(resource: object) -> str | None:
    found = getattr(resource, "physical_resource_id", None)
    return str(found) if found is not None else None


# F4: modelled types that fail -----------------------------------------------------------------------

_TARGET_GROUP_ATTRIBUTES = ("TargetGroupFullName", "TargetGroupName", "LoadBalancerArns", "TargetGroupArn")


def target_group_attributes() -> None:
    """F4: ``Fn::GetAtt`` on a target group (the gateway's ``TargetGroupFullName`` output).

    moto/elbv2/models.py:94 ``FakeTargetGroup`` has no ``has_cfn_attr``/``get_cfn_attribute``
    (``FakeLoadBalancer`` has them, 681-690): ``AttributeError`` and HTTP 500.
    """

    def has_cfn_attr(cls: type[FakeTargetGroup], attr: str) -> bool:
        return attr in _TARGET_GROUP_ATTRIBUTES

    def get_cfn_attribute(self: FakeTargetGroup, attribute_name: str) -> Any:
        if attribute_name == "TargetGroupFullName":  # targetgroup/<name>/<id>, the ARN's resource part
            return self.arn.split(":", 5)[5]
        if attribute_name == "TargetGroupName":
            return self.name
        if attribute_name == "LoadBalancerArns":
            return list(self.load_balancer_arns)
        if attribute_name == "TargetGroupArn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    _set(FakeTargetGroup, "has_cfn_attr", classmethod(has_cfn_attr))
    _set(FakeTargetGroup, "get_cfn_attribute", get_cfn_attribute)


def kms_key_cfn_tags() -> None:
    """F4: a KMS key's CloudFormation tags (``Key``/``Value``) reach moto's tagger as ``TagKey``/``TagValue``.

    moto/kms/models.py:322-327 hands the template's tags to ``create_key`` (377), which wants the KMS
    API's shape: ``KeyError: 'TagKey'`` (the observability stack's key).
    """
    original = Key.create_from_cloudformation_json

    def create(
        cls: type[Key],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Key:
        properties = dict(cloudformation_json["Properties"])
        properties["Tags"] = [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties.get("Tags", [])]
        return original(
            resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs
        )

    _set(Key, "create_from_cloudformation_json", classmethod(create))


def record_custom_resources_not_run() -> None:
    """F4: a Lambda-backed custom resource is recorded as not run instead of invoking its Lambda in the background.

    moto/cloudformation/custom_model.py:50-92 starts the provider Lambda in a thread (it needs Docker,
    which fails here) and does not wait: the stack reported CREATE_COMPLETE though nothing ran. Here
    the provider must still exist, nothing is invoked, the resource completes at once so the deploy
    goes on, and both its ``ResourceStatusReason`` and a stack event say it was not run.
    """

    def create(
        cls: type[CustomModel],
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CustomModel:
        lambda_backend(account_id, region_name).get_function(cloudformation_json["Properties"]["ServiceToken"])
        resource = CustomModel(  # type: ignore[abstract]  # moto instantiates it so too (custom_model.py:57)
            region_name, str(mock_random.uuid4()), str(kwargs["LogicalId"]), resource_name
        )
        resource.set_data({})
        _set(resource, "resource_status_reason", CUSTOM_RESOURCE_NOT_RUN)
        stack = _backend(account_id, region_name).get_stack(str(kwargs["StackId"]))
        stack.add_custom_resource(resource)
        event = cfn.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=resource.logical_id,
            physical_resource_id=resource.physical_resource_id,
            resource_type=str(kwargs["ResourceType"]),
            resource_status="CREATE_COMPLETE",
            resource_status_reason=CUSTOM_RESOURCE_NOT_RUN,
            resource_properties=None,
        )
        stack.events.append(event)
        return resource

    _set(CustomModel, "create_from_cloudformation_json", classmethod(create))


def report_resource_status_reasons() -> None:
    """F3/F4: DescribeStackResources shows a placeholder's or an unrun custom resource's reason.

    moto/cloudformation/responses.py:24-35 ``StackResourceDTO`` has no ``ResourceStatusReason``; the
    rehearsal reads it to list what the emulator did not really create.
    """
    original = responses.StackResourceDTO.__init__

    def init(self: responses.StackResourceDTO, stack: cfn.Stack, resource: type[CloudFormationModel]) -> None:
        original(self, stack, resource)
        _set(self, "resource_status_reason", getattr(resource, "resource_status_reason", None))

    _set(responses.StackResourceDTO, "__init__", init)


# F5: destroy ---------------------------------------------------------------------------------------


def _delete_vpc_endpoint(endpoint: VPCEndPoint, account_id: str, region_name: str) -> None:
    try:
        ec2_backends[account_id][region_name].delete_vpc_endpoints([endpoint.id])
    except (InvalidRouteTableIdError, InvalidRouteError):  # its route table went first: no route left to remove
        endpoint.state = "deleted"


def _detach_gateway(attachment: VPCGatewayAttachment, account_id: str, region_name: str) -> None:
    ec2 = ec2_backends[account_id][region_name]
    gateway = attachment.gateway_id or ""
    if gateway.startswith("igw-"):
        ec2.detach_internet_gateway(gateway, attachment.vpc_id)
    elif gateway.startswith("vgw-"):
        ec2.detach_vpn_gateway(gateway, attachment.vpc_id)


_NETWORK_DELETES: Mapping[type[Any], Callable[[Any, str, str], object]] = {
    VPCEndPoint: _delete_vpc_endpoint,
    NatGateway: lambda gateway, account, region: ec2_backends[account][region].delete_nat_gateway(gateway.id),
    InternetGateway: lambda gateway, account, region: ec2_backends[account][region].delete_internet_gateway(gateway.id),
    VPCGatewayAttachment: _detach_gateway,
    RouteTable: lambda table, account, region: ec2_backends[account][region].delete_route_table(table.id),
    SubnetRouteTableAssociation: lambda association, account, region: ec2_backends[account][
        region
    ].subnet_associations.pop(f"{association.route_table_id}:{association.subnet_id}", None),
    ElasticAddress: lambda address, account, region: ec2_backends[account][region].release_address(
        address=address.public_ip
    ),
    FlowLogs: lambda log, account, region: ec2_backends[account][region].delete_flow_logs([log.id]),
}


def _add_deletes(deletes: Mapping[type[Any], Callable[[Any, str, str], object]]) -> None:
    """Give each model the ``delete(account_id, region_name)`` that parsing.py:939-955 calls first.

    A resource already gone counts as deleted, as CloudFormation has it: moto deletes a load balancer's
    listeners with it (elbv2/models.py ``delete_load_balancer``), so the listener's own delete, run
    after it in some stack orders, found nothing (``ListenerNotFound``) and failed the edge stack's destroy.
    """
    for model, delete in deletes.items():

        def method(
            self: Any, account_id: str, region_name: str, _delete: Callable[[Any, str, str], object] = delete
        ) -> None:
            try:
                _delete(self, account_id, region_name)
            except Exception as error:
                if not type(error).__name__.endswith(("NotFoundError", "NotFound", "NotFoundException")):
                    raise

        _set(model, "delete", method)


def delete_network_resources() -> None:
    """F5: the network stack's EC2 resources are deleted with their stack, so the VPC can go last.

    moto's ``VPCEndPoint`` (ec2/models/vpcs.py:327), ``NatGateway`` (nat_gateways.py:10),
    ``InternetGateway`` (internet_gateways.py:85), ``VPCGatewayAttachment`` (vpn_gateway.py:10),
    ``RouteTable`` (route_tables.py:35), ``SubnetRouteTableAssociation`` (subnets.py:437),
    ``ElasticAddress`` (elastic_ip_addresses.py:21) and ``FlowLogs`` (flow_logs.py:21) have neither
    ``delete`` nor ``delete_from_cloudformation_json``; parsing.py:939-955 then deletes nothing and
    reports success, and ``delete_vpc`` refused: "The vpc ... has dependencies".
    """
    _add_deletes(_NETWORK_DELETES)


_SERVICE_DELETES: Mapping[type[Any], Callable[[Any, str, str], object]] = {
    Service: lambda service, account, region: ecs_backends[account][region].delete_service(
        service.cluster_name, service.name, force=True
    ),
    TaskDefinition: lambda task, account, region: ecs_backends[account][region].deregister_task_definition(task.arn),
    Cluster: lambda cluster, account, region: ecs_backends[account][region].delete_cluster(cluster.arn),
    FakeListenerRule: lambda rule, account, region: elbv2_backends[account][region].delete_rule(rule.arn),
    FakeListener: lambda listener, account, region: elbv2_backends[account][region].delete_listener(listener.arn),
    FakeTargetGroup: lambda group, account, region: elbv2_backends[account][region].delete_target_group(group.arn),
}


def delete_service_resources() -> None:
    """F5: ECS clusters, task definitions, services and the ALB's listeners, rules, target groups go with their stacks.

    moto's ``Cluster``, ``TaskDefinition``, ``Service`` (ecs/models.py:39, 131, 472) and
    ``FakeListener``, ``FakeListenerRule``, ``FakeTargetGroup`` (elbv2/models.py:328, 446, 94) have no
    delete for CloudFormation: after ``cdk destroy`` the services still ran in moto, so a read-back
    could not tell a destroyed stack from a live one.
    """
    _add_deletes(_SERVICE_DELETES)


def failed_deletes_stay_listed() -> None:
    """F5: a stack whose deletion fails is ``DELETE_FAILED`` with the reason, not gone.

    moto/cloudformation/models.py:1291-1301 pops the stack before deleting its resources, so an error
    dropped it from every listing (and answered HTTP 500) while its resources stayed. CloudFormation
    accepts DeleteStack and reports the failure on the stack, which the CLI's wait then shows. The
    outputs are kept as they were: resolving them again (``Stack.outputs``, models.py:533-551) raised
    "Fn::GetAtt references undefined resource" once the resources were gone.
    """

    def delete_stack(self: cfn.CloudFormationBackend, name_or_stack_id: str) -> None:
        stack = self.stacks.get(name_or_stack_id) or next(
            (stack for stack in self.stacks.values() if stack.name == name_or_stack_id), None
        )
        if stack is None:
            return  # CloudFormation: deleting a stack that does not exist succeeds
        frozen = _FrozenOutputs(stack)
        _set(stack, "output_map", frozen)
        try:
            stack.delete()
        except Exception as error:  # any moto failure is the stack's failure, as CloudFormation reports it
            stack.status = "DELETE_FAILED"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=f"emulator: {type(error).__name__}: {error}")
            return
        del self.stacks[stack.stack_id]
        self.deleted_stacks[stack.stack_id] = stack
        for export in frozen.exports:
            self.exports.pop(export.name, None)
        _drop_change_sets(self, stack.stack_id)

    _set(cfn.CloudFormationBackend, "delete_stack", delete_stack)


# The patch set ------------------------------------------------------------------------------------

PATCHES: tuple[Callable[[], None], ...] = (
    read_templates_from_loopback_urls,
    imports_for_change_set_stacks,
    execute_change_sets_completely,
    change_sets_by_stack,
    previous_parameter_values,
    placeholders_for_unmodelled_types,
    keep_resources_without_update,
    update_dependents_of_new_ids,
    resources_only_created_by_create_or_update,
    target_group_attributes,
    kms_key_cfn_tags,
    record_custom_resources_not_run,
    report_resource_status_reasons,
    delete_network_resources,
    delete_service_resources,
    failed_deletes_stay_listed,
)
_applied = threading.Lock()
_done: list[bool] = []


def check_moto_version(version: str) -> None:
    """Refuse a moto release the patches were not written against: each one replaces 5.2.5's code."""
    if version != MOTO_VERSION:
        raise EmulatorError(
            f"moto {version} is installed; the emulator's patches replace moto {MOTO_VERSION}'s code: install the "
            f"rehearsal group (uv sync --group rehearsal), or re-check every patch in {__name__} against {version}"
        )


def apply_patches() -> None:
    """Apply every patch once per process (idempotent; the in-process server and the CLI both call it)."""
    with _applied:
        if _done:
            return
        check_moto_version(moto.__version__)
        for patch in PATCHES:
            patch()
        _done.append(True)


def modelled_types() -> frozenset[str]:
    """The ``AWS::`` types moto 5.2.5's CloudFormation really creates, minus the forced placeholders.

    Read from the registry its parser uses (``CloudFormationModel.__subclasses__()``, parsing.py:89-92).
    """
    registry = {model.cloudformation_type() for model in CloudFormationModel.__subclasses__()}
    return frozenset(kind for kind in registry if kind.startswith("AWS::") and kind not in FORCED_PLACEHOLDERS)


# The server ---------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Emulator:
    """A running, patched moto server: ``url`` to point the AWS clients at, ``stop()`` to end it."""

    def __init__(self, server: BaseWSGIServer, host: str) -> None:
        self._server = server
        self.port = int(server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, name=f"emulator-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket (the port is free again when this returns)."""
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


def start(port: int, host: str = LOOPBACK, *, ready_timeout: float = 30.0) -> Emulator:
    """Start the patched server on ``host:port`` (port 0: a free one) and return once it answers."""
    if not _is_loopback(host):
        raise EmulatorError(
            f"emulator host {host!r} is not a loopback address: the rehearsal's AWS traffic stays on this machine "
            f"(use --host {LOOPBACK})"
        )
    apply_patches()
    try:
        server = make_server(
            host,
            port,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
    except OSError as error:
        raise EmulatorError(f"emulator cannot listen on {host}:{port}: {error}: pick a free port (or 0)") from error
    emulator = Emulator(server, host)
    try:
        with urllib.request.urlopen(f"{emulator.url}/moto-api/config", timeout=ready_timeout) as answer:  # noqa: S310 -- our own loopback URL
            answer.read()
    except OSError as error:
        emulator.stop()
        raise EmulatorError(
            f"emulator on {emulator.url} did not answer within {ready_timeout:.0f} s: {error}"
        ) from error
    return emulator


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bedrockgate_pipeline.rehearsal.emulator --port N [--host 127.0.0.1]``."""
    parser = argparse.ArgumentParser(
        prog="python -m bedrockgate_pipeline.rehearsal.emulator",
        description="moto's server on loopback, patched for the deploy rehearsal; stops on SIGTERM/SIGINT.",
    )
    parser.add_argument("--port", type=int, required=True, help="port to listen on (0: any free one)")
    parser.add_argument("--host", default=LOOPBACK, help=f"a loopback address (default {LOOPBACK})")
    args = parser.parse_args(argv)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    try:
        emulator = start(args.port, args.host)
    except EmulatorError as error:
        print(f"emulator: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"emulator ready on {emulator.url}", flush=True)
    while not stopping.wait(0.5):
        pass
    emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
