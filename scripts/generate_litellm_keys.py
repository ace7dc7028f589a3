r"""Generate ``bedrockgate.gateway_config._litellm_keys``: the config keys LiteLLM really accepts.

``bedrockgate.gateway_config`` rejects every config key LiteLLM does not know, because LiteLLM itself
ignores most misspelt keys (or ``setattr``s them onto the ``litellm`` module). The package must not
import litellm at run time, so the sets of known keys are committed as data, and this script
regenerates that data from an installed LiteLLM. Where LiteLLM declares a key (a pydantic model, a
TypedDict, an enum, a signature) it reads the declaration; where the proxy only reads keys out of a
plain dict (the top level of the config, ``general_settings``, ``litellm_settings``) it reads
LiteLLM's source with :mod:`ast`.

Run it with a Python that has litellm installed, from the repository root::

    uv run --package bedrockgate-gateway-config --group test python scripts/generate_litellm_keys.py \
        > packages/gateway-config/src/bedrockgate/gateway_config/_litellm_keys.py

``packages/gateway-config/tests/test_litellm_keys_current.py`` fails when the committed module and
:func:`render_module` disagree, so upgrading LiteLLM cannot leave the sets stale.
"""

from __future__ import annotations

import ast
import contextlib
import enum
import functools
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final, TypeAlias

__all__ = ["main", "render_module"]

_COST_MAP_ENV: Final = "LITELLM_LOCAL_MODEL_COST_MAP"
"""Without it LiteLLM fetches its price map from the network at import, retrying for a while."""

_ENTERPRISE: Final = "litellm_enterprise"
"""The proxy's enterprise package: a dependency of ``litellm[proxy]`` that reads general_settings too."""

_CONFIG_LOADERS: Final = frozenset(
    {"get_config", "get_config_state", "_get_config_from_file", "get_config_from_bucket", "_update_config_from_db"}
)
"""ProxyConfig's functions that return the whole loaded config dict."""

_NOT_FORWARDED: Final = frozenset({"get", "pop", "setdefault", "update", "copy", "items", "keys", "values"})
"""Mapping methods: a section passed to one of these is not a section parameter of some LiteLLM function."""

_MAX_SAME_NAME_CALLEES: Final = 3
"""A call by a name LiteLLM defines more often than this is too ambiguous to follow."""

_BEDROCK_ARN_MODEL: Final = "arn:aws:bedrock:us-east-1:000000000000:application-inference-profile/amazon.nova-pro"
"""For an ARN, AmazonConverseConfig cannot infer the model, so it lists every parameter it supports."""

_LITELLM_ATTRIBUTES_PROBE: Final = """
import json
import litellm

plain = (type(None), bool, int, float, str, list, dict)
print(json.dumps(sorted(name for name in dir(litellm) if type(getattr(litellm, name)) in plain)))
"""
"""Run in a fresh interpreter: a process that has loaded configs has ``setattr``-ed litellm already."""


# --------------------------------------------------------------------------- importing LiteLLM


def _module(name: str) -> ModuleType:
    os.environ.setdefault(_COST_MAP_ENV, "True")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(name)


def _attr(module: str, *path: str) -> object:
    found: object = _module(module)
    for name in path:
        found = getattr(found, name)
    return found


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _litellm_dir() -> Path:
    found = _package_dir("litellm")
    if found is None:
        raise RuntimeError("litellm is not installed in this environment")
    return found


# --------------------------------------------------------------------------- turning objects into key sets


def _strings(values: Iterable[object], what: str) -> frozenset[str]:
    found: set[str] = set()
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"{what}: {value!r} is not a string")
        found.add(value)
    if not found:
        raise RuntimeError(f"{what}: found nothing; has LiteLLM moved it?")
    return frozenset(found)


def _public_identifiers(keys: Iterable[str]) -> frozenset[str]:
    return frozenset(key for key in keys if key.isidentifier() and not key.startswith("_"))


def _model_fields(model: object) -> frozenset[str]:
    fields = getattr(model, "model_fields", None)
    if not isinstance(fields, dict):
        raise TypeError(f"{model!r} is not a pydantic model")
    return _strings((info.alias or name for name, info in fields.items()), f"{model!r}.model_fields")


def _typed_dict_keys(typed_dict: object) -> frozenset[str]:
    required = getattr(typed_dict, "__required_keys__", None)
    optional = getattr(typed_dict, "__optional_keys__", None)
    if not isinstance(required, frozenset) or not isinstance(optional, frozenset):
        raise TypeError(f"{typed_dict!r} is not a TypedDict")
    return _strings(required | optional, f"{typed_dict!r} keys")


def _enum_values(enum_class: object) -> frozenset[str]:
    if not (isinstance(enum_class, type) and issubclass(enum_class, enum.Enum)):
        raise TypeError(f"{enum_class!r} is not an enum")
    return _strings((member.value for member in enum_class), f"{enum_class!r} values")


def _parameters(function: object) -> frozenset[str]:
    if not callable(function):
        raise TypeError(f"{function!r} is not callable")
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return _strings(
        (
            name
            for name, parameter in inspect.signature(function).parameters.items()
            if name != "self" and not name.startswith("_") and parameter.kind not in variadic
        ),
        f"parameters of {function!r}",
    )


def _collection(value: object, what: str) -> frozenset[str]:
    if isinstance(value, dict):
        return _strings(value, what)
    if isinstance(value, (list, tuple, set, frozenset)):
        return _strings(value, what)
    raise TypeError(f"{what}: {value!r} is not a collection of strings")


# --------------------------------------------------------------------------- reading LiteLLM's source

_Function: TypeAlias = ast.FunctionDef | ast.AsyncFunctionDef
_Holds: TypeAlias = Callable[[ast.expr], bool]

_DEFINITION: Final = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)
_STRING_CONSTANT: Final = re.compile(
    r"""^(_*[A-Z][A-Z0-9_]*)(?:[ \t]*:[^=\n]*)?[ \t]*=[ \t]*(["'])([^"'\\\n]*)\2[ \t]*(?:\#.*)?$""", re.MULTILINE
)


@functools.cache
def _files() -> tuple[Path, ...]:
    roots = [_litellm_dir()]
    enterprise = _package_dir(_ENTERPRISE)
    if enterprise is not None:
        roots.append(enterprise)
    return tuple(path for root in roots for path in sorted(root.rglob("*.py")))


@functools.cache
def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(_text(path), filename=str(path))


def _litellm_file(relative: str) -> Path:
    path = _litellm_dir() / relative
    if path not in _files():
        raise RuntimeError(f"litellm/{relative} is missing; has LiteLLM moved it?")
    return path


@functools.cache
def _functions_in(path: Path) -> tuple[_Function, ...]:
    return tuple(node for node in ast.walk(_tree(path)) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))


@functools.cache
def _lines(path: Path) -> tuple[str, ...]:
    return tuple(_text(path).splitlines())


def _mentions(path: Path, function: _Function, word: str) -> bool:
    return any(word in line for line in _lines(path)[function.lineno - 1 : function.end_lineno])


@functools.cache
def _definitions() -> dict[str, tuple[Path, ...]]:
    """Which files define a function of each name, once per definition (a text scan: parsing is slow)."""
    found: dict[str, list[Path]] = {}
    for path in _files():
        for name in _DEFINITION.findall(_text(path)):
            found.setdefault(name, []).append(path)
    return {name: tuple(paths) for name, paths in found.items()}


def _functions_named(name: str) -> tuple[_Function, ...]:
    return tuple(
        function
        for path in sorted(set(_definitions().get(name, ())))
        for function in _functions_in(path)
        if function.name == name
    )


@functools.cache
def _string_constants() -> dict[str, frozenset[str]]:
    """Module-level ``NAME = "text"`` constants anywhere in LiteLLM, by name."""
    found: dict[str, set[str]] = {}
    for path in _files():
        for name, _quote, value in _STRING_CONSTANT.findall(_text(path)):
            found.setdefault(name, set()).add(value)
    return {name: frozenset(values) for name, values in found.items()}


def _assignment(statement: ast.AST) -> tuple[str, ast.expr] | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        if isinstance(target, ast.Name):
            return target.id, statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
        return statement.target.id, statement.value
    return None


def _assigned_names(function: _Function, value_matches: Callable[[ast.expr], bool]) -> frozenset[str]:
    return frozenset(
        target.id
        for node in ast.walk(function)
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value and value_matches(node.value)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    )


def _module_level_strings(relative: str, name: str) -> frozenset[str]:
    for statement in _tree(_litellm_file(relative)).body:
        assigned = _assignment(statement)
        if assigned and assigned[0] == name:
            return _collection(ast.literal_eval(assigned[1]), f"litellm/{relative}:{name}")
    raise RuntimeError(f"litellm/{relative} no longer defines {name}")


def _key(node: ast.expr) -> str | None:
    """The string a key expression stands for: a literal, or an unambiguous module-level constant."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id.lstrip("_").isupper():
        values = _string_constants().get(node.id, frozenset())
        if len(values) == 1:
            return next(iter(values))
    return None


def _literal_strings(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        for element in node.elts:
            found = _key(element)
            if found is not None:
                yield found
    else:
        found = _key(node)
        if found is not None:
            yield found


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _keys_read(function: _Function, holds: _Holds) -> Iterator[str]:
    """Keys ``function`` reads from (or writes to) a mapping that ``holds`` says is the section."""
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"get", "pop", "setdefault"}
            and holds(node.func.value)
            and node.args
        ):
            yield from _literal_strings(node.args[0])
        elif isinstance(node, ast.Subscript) and holds(node.value):
            yield from _literal_strings(node.slice)
        elif (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.In | ast.NotIn)
            and holds(node.comparators[0])
        ):
            yield from _literal_strings(node.left)
        elif isinstance(node, ast.For | ast.AsyncFor):
            yield from _keys_compared_in_loop(node, holds)


def _keys_compared_in_loop(loop: ast.For | ast.AsyncFor, holds: _Holds) -> Iterator[str]:
    """``for key, value in section.items(): if key == "x": ...`` special-cases the key ``x``."""
    iterated = loop.iter
    key_name: str | None = None
    if isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Attribute) and holds(iterated.func.value):
        if iterated.func.attr == "items" and isinstance(loop.target, ast.Tuple) and loop.target.elts:
            first = loop.target.elts[0]
            key_name = first.id if isinstance(first, ast.Name) else None
        elif iterated.func.attr == "keys" and isinstance(loop.target, ast.Name):
            key_name = loop.target.id
    elif holds(iterated) and isinstance(loop.target, ast.Name):
        key_name = loop.target.id
    if key_name is None:
        return
    for statement in loop.body:
        for node in ast.walk(statement):
            if (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Name)
                and node.left.id == key_name
                and len(node.ops) == 1
                and isinstance(node.ops[0], ast.Eq | ast.In)
            ):
                yield from _literal_strings(node.comparators[0])


def _name_holder(names: frozenset[str]) -> _Holds:
    return lambda expression: isinstance(expression, ast.Name) and expression.id in names


def _names_section(identifier: str, section: str) -> bool:
    return identifier.lstrip("_") == section or identifier.endswith(f"_{section}")


def _takes_section(expression: ast.expr, section: str) -> bool:
    """``config.get("section")``, ``config["section"]``, or either with ``or {}``."""
    if isinstance(expression, ast.BoolOp):
        return any(_takes_section(value, section) for value in expression.values)
    if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Attribute) and expression.args:
        return expression.func.attr == "get" and _key(expression.args[0]) == section
    if isinstance(expression, ast.Subscript):
        return _key(expression.slice) == section
    return False


def _section_holder(function: _Function, section: str) -> _Holds:
    assigned = _assigned_names(function, lambda value: _takes_section(value, section))

    def holds(expression: ast.expr) -> bool:
        if isinstance(expression, ast.Name):
            return expression.id in assigned or _names_section(expression.id, section)
        if isinstance(expression, ast.Attribute):
            return _names_section(expression.attr, section)
        return _takes_section(expression, section)

    return holds


def _forwarded_to(function: _Function, holds: _Holds) -> Iterator[tuple[_Function, str]]:
    """The functions ``function`` hands the section to, each with the parameter that receives it."""
    for call in (node for node in ast.walk(function) if isinstance(node, ast.Call)):
        name = _called_name(call)
        if name is None or name in _NOT_FORWARDED:
            continue
        if not any(holds(argument) for argument in (*call.args, *(keyword.value for keyword in call.keywords))):
            continue
        if not 0 < len(_definitions().get(name, ())) <= _MAX_SAME_NAME_CALLEES:
            continue
        for callee in _functions_named(name):
            positional = [argument.arg for argument in (*callee.args.posonlyargs, *callee.args.args)]
            if positional[:1] in (["self"], ["cls"]) and isinstance(call.func, ast.Attribute):
                positional = positional[1:]
            named = {argument.arg for argument in (*callee.args.args, *callee.args.kwonlyargs)}
            for index, argument in enumerate(call.args):
                if index < len(positional) and holds(argument):
                    yield callee, positional[index]
            for keyword in call.keywords:
                if keyword.arg in named and holds(keyword.value):
                    yield callee, keyword.arg


def _section_keys(section: str) -> frozenset[str]:
    """Every key LiteLLM reads from the ``section`` mapping of the config, in its own source.

    A function reads the section when it names it (``general_settings``, ``self.general_settings``,
    ``_litellm_settings``), takes it out of the config (``settings = config.get("general_settings")``),
    or receives it from a caller that does (followed one call deep).
    """
    found: set[str] = set()
    for path in _files():
        if section not in _text(path):
            continue
        for function in _functions_in(path):
            if not _mentions(path, function, section):
                continue
            holds = _section_holder(function, section)
            found.update(_keys_read(function, holds))
            for callee, parameter in _forwarded_to(function, holds):
                found.update(_keys_read(callee, _name_holder(frozenset({parameter}))))
    return _public_identifiers(found)


def _calls_config_loader(value: ast.expr) -> bool:
    return any(isinstance(node, ast.Call) and _called_name(node) in _CONFIG_LOADERS for node in ast.walk(value))


def _top_level_keys() -> frozenset[str]:
    """The sections LiteLLM reads from the loaded config dict: ProxyConfig's ``config`` and loader results."""
    found: set[str] = set()
    proxy_dirs = (_litellm_dir() / "proxy", _package_dir(_ENTERPRISE))
    for path in _files():
        if not any(root is not None and path.is_relative_to(root) for root in proxy_dirs):
            continue  # provider configs outside the proxy have get_config() methods of their own
        if not any(loader in _text(path) for loader in _CONFIG_LOADERS):
            continue
        proxy_config_methods = {
            id(node)
            for cls in ast.walk(_tree(path))
            if isinstance(cls, ast.ClassDef) and cls.name == "ProxyConfig"
            for node in cls.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        for function in _functions_in(path):
            config_names = set(_assigned_names(function, _calls_config_loader))
            if id(function) in proxy_config_methods:
                config_names.update(
                    argument.arg
                    for argument in (*function.args.args, *function.args.kwonlyargs)
                    if argument.arg == "config"
                )
            if config_names:
                found.update(_keys_read(function, _name_holder(frozenset(config_names))))
    include_key = _attr("litellm.proxy.common_utils.config_includes", "INCLUDE_KEY")
    return _public_identifiers(found) | _strings([include_key], "INCLUDE_KEY")


# --------------------------------------------------------------------------- the key sets


def _deployment_keys() -> frozenset[str]:
    return _model_fields(_attr("litellm.types.router", "Deployment")) | _typed_dict_keys(
        _attr("litellm.types.router", "DeploymentTypedDict")
    )


def _bedrock_converse_params() -> frozenset[str]:
    """What AmazonConverseConfig keeps as a Converse request field instead of additionalModelRequestFields."""
    config_class: Any = _attr("litellm.llms.bedrock.chat.converse_transformation", "AmazonConverseConfig")
    found = set(_strings(inspect.get_annotations(config_class), "AmazonConverseConfig annotations"))
    found |= _collection(config_class.get_config_blocks(), "AmazonConverseConfig.get_config_blocks()")
    found |= _collection(
        config_class().get_supported_openai_params(model=_BEDROCK_ARN_MODEL),
        "AmazonConverseConfig.get_supported_openai_params()",
    )
    prepare = ast.parse(textwrap.dedent(inspect.getsource(config_class._prepare_request_params)))
    for node in ast.walk(prepare):
        assigned = _assignment(node) if isinstance(node, ast.stmt) else None
        if assigned is None:
            continue
        name, value = assigned
        if (  # kept = inference_params.pop("requestMetadata", None)
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr == "pop"
            and isinstance(value.func.value, ast.Name)
            and value.func.value.id == "inference_params"
            and value.args
        ):
            found.update(_literal_strings(value.args[0]))
        elif name.startswith("supported_"):  # supported_converse_params = [...] + ["top_k"]
            found.update(
                key for part in ast.walk(value) if isinstance(part, ast.List) for key in _literal_strings(part)
            )
    return frozenset(found)


def _litellm_params_keys() -> frozenset[str]:
    default_values = _collection(
        _attr("litellm.constants", "DEFAULT_CHAT_COMPLETION_PARAM_VALUES"), "DEFAULT_CHAT_COMPLETION_PARAM_VALUES"
    )
    return (
        _model_fields(_attr("litellm.types.router", "LiteLLM_Params"))
        | _model_fields(_attr("litellm.types.router", "GenericLiteLLMParams"))
        | _typed_dict_keys(_attr("litellm.types.router", "LiteLLMParamsTypedDict"))
        | (
            _public_identifiers(_collection(_attr("litellm.types.utils", "all_litellm_params"), "all_litellm_params"))
            # LiteLLM drops these before validating litellm_params.
            - _collection(_attr("litellm.types.router", "_RESERVED_INIT_KEYS"), "_RESERVED_INIT_KEYS")
        )
        | _collection(_attr("litellm.constants", "OPENAI_CHAT_COMPLETION_PARAMS"), "OPENAI_CHAT_COMPLETION_PARAMS")
        # The request's messages are not a parameter a deployment could fix.
        | (default_values - {"messages"})
        | _bedrock_converse_params()
    )


def _cost_map_keys() -> frozenset[str]:
    cost_map = json.loads((_litellm_dir() / "model_prices_and_context_window_backup.json").read_text("utf-8"))
    if not isinstance(cost_map, dict):
        raise TypeError("the bundled cost map is not a JSON object")
    return _strings((key for entry in cost_map.values() if isinstance(entry, dict) for key in entry), "cost map")


def _model_info_keys() -> frozenset[str]:
    return (
        _model_fields(_attr("litellm.types.router", "ModelInfo"))
        | _typed_dict_keys(_attr("litellm.types.utils", "ModelInfoBase"))
        | _typed_dict_keys(_attr("litellm.types.utils", "ModelInfo"))
        | _cost_map_keys()
    )


def _router_settings_keys() -> frozenset[str]:
    get_valid_args = _attr("litellm.router", "Router", "get_valid_args")
    if not callable(get_valid_args):
        raise TypeError("Router.get_valid_args is not callable")
    managed = _collection(
        _attr("litellm.constants", "ROUTER_SETTINGS_MANAGED_OUTSIDE_CONFIG"), "ROUTER_SETTINGS_MANAGED_OUTSIDE_CONFIG"
    )
    return _collection(get_valid_args(), "Router.get_valid_args()") - managed


def _general_settings_keys() -> frozenset[str]:
    return (
        _model_fields(_attr("litellm.proxy._types", "ConfigGeneralSettings"))
        | _section_keys("general_settings")
        # Read through a loop or a settings store rather than by a literal key:
        | _module_level_strings("proxy/config_resolvers/settings_rules.py", "_UI_SETTINGS_FIELDS")
        | _module_level_strings("proxy/proxy_server.py", "_CLEANUP_SCHEDULE_KEYS")
    )


@functools.cache
def _attribute_probe() -> subprocess.Popen[str]:
    """Start the probe of ``litellm``'s attributes early: a fresh interpreter takes a while to import it."""
    return subprocess.Popen(  # noqa: S603 -- this interpreter, running a fixed probe
        [sys.executable, "-P", "-c", _LITELLM_ATTRIBUTES_PROBE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, _COST_MAP_ENV: os.environ.get(_COST_MAP_ENV, "True")},
    )


@functools.cache
def _litellm_module_settings() -> frozenset[str]:
    """The plain-valued public attributes of a freshly imported ``litellm`` module, constants aside."""
    probe = _attribute_probe()
    stdout, stderr = probe.communicate()
    if probe.returncode != 0:
        raise RuntimeError(f"probing the litellm module failed:\n{stderr}")
    names = _collection(json.loads(stdout.strip().splitlines()[-1]), "litellm attributes")
    # UPPER_CASE names are constants re-exported from litellm.constants, not settings.
    return frozenset(name for name in _public_identifiers(names) if not name.isupper())


def _litellm_settings_keys() -> frozenset[str]:
    return _section_keys("litellm_settings") | _litellm_module_settings()


def _callback_names() -> frozenset[str]:
    litellm_dir = _litellm_dir()
    found = set(
        _collection(
            _attr("litellm", "_known_custom_logger_compatible_callbacks"), "_known_custom_logger_compatible_callbacks"
        )
    )
    # The string callbacks LiteLLM's logging and the proxy's callback loader special-case by name.
    for relative in ("litellm_core_utils/litellm_logging.py", "proxy/common_utils/callback_utils.py"):
        for node in ast.walk(_tree(_litellm_file(relative))):
            if (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Name)
                and node.left.id == "callback"
                and len(node.ops) == 1
                and isinstance(node.ops[0], ast.Eq | ast.In)
            ):
                found.update(_literal_strings(node.comparators[0]))
    generic_api = litellm_dir / "integrations" / "generic_api" / "generic_api_compatible_callbacks.json"
    found |= _collection(json.loads(generic_api.read_text("utf-8")), "generic_api_compatible_callbacks.json")
    return frozenset(found)


def _guardrail_types() -> frozenset[str]:
    registry = _attr("litellm.proxy.guardrails.guardrail_registry", "guardrail_initializer_registry")
    return _enum_values(_attr("litellm.types.guardrails", "SupportedGuardrailIntegrations")) | _collection(
        registry, "guardrail_initializer_registry"
    )


@dataclass(frozen=True)
class _Constant:
    name: str
    origin: str
    compute: Callable[[], frozenset[str]]


_CONSTANTS: Final = (
    _Constant(
        "TOP_LEVEL_KEYS",
        "Config sections the proxy reads from the loaded config dict (ProxyConfig, read with ast).",
        _top_level_keys,
    ),
    _Constant("DEPLOYMENT_KEYS", "Keys of one model_list entry: Deployment, DeploymentTypedDict.", _deployment_keys),
    _Constant(
        "LITELLM_PARAMS_KEYS",
        "A deployment's litellm_params: LiteLLM_Params, LiteLLMParamsTypedDict, all_litellm_params,\n"
        "the OpenAI request parameters, and what the Bedrock Converse transformation accepts.",
        _litellm_params_keys,
    ),
    _Constant(
        "MODEL_INFO_KEYS",
        "A deployment's model_info: router ModelInfo, the ModelInfo TypedDicts, the bundled cost map's keys.",
        _model_info_keys,
    ),
    _Constant(
        "ROUTER_SETTINGS_KEYS",
        "Router.get_valid_args() minus ROUTER_SETTINGS_MANAGED_OUTSIDE_CONFIG.",
        _router_settings_keys,
    ),
    _Constant(
        "ROUTING_STRATEGIES",
        "router_settings.routing_strategy values: VALID_ROUTING_STRATEGIES.",
        lambda: _collection(
            _attr("litellm.router_utils.routing_groups", "VALID_ROUTING_STRATEGIES"), "VALID_ROUTING_STRATEGIES"
        ),
    ),
    _Constant(
        "GENERAL_SETTINGS_KEYS",
        "ConfigGeneralSettings, and every key the proxy reads from general_settings (read with ast).",
        _general_settings_keys,
    ),
    _Constant(
        "LITELLM_SETTINGS_KEYS",
        "Keys the proxy reads from litellm_settings (read with ast), and the plain-valued public\n"
        "attributes of the litellm module, which load_config sets with setattr(litellm, key, value).",
        _litellm_settings_keys,
    ),
    _Constant(
        "CACHE_TYPES",
        "litellm_settings.cache_params.type values: LiteLLMCacheType.",
        lambda: _enum_values(_attr("litellm.types.caching", "LiteLLMCacheType")),
    ),
    _Constant(
        "CACHE_PARAMS_KEYS",
        "litellm_settings.cache_params keys: the named parameters of litellm.Cache.__init__.",
        lambda: _parameters(_attr("litellm.caching.caching", "Cache", "__init__")),
    ),
    _Constant(
        "GUARDRAIL_ENTRY_KEYS",
        "Keys of one entry of the top-level guardrails list: the Guardrail TypedDict.",
        lambda: _typed_dict_keys(_attr("litellm.types.guardrails", "Guardrail")),
    ),
    _Constant(
        "GUARDRAIL_PARAMS_KEYS",
        "A guardrail's litellm_params: LitellmParams with all its provider mixins.",
        lambda: _model_fields(_attr("litellm.types.guardrails", "LitellmParams")),
    ),
    _Constant(
        "GUARDRAIL_TYPES",
        "litellm_params.guardrail values: SupportedGuardrailIntegrations and the initializer registry.",
        _guardrail_types,
    ),
    _Constant(
        "GUARDRAIL_MODES",
        "litellm_params.mode values: GuardrailEventHooks.",
        lambda: _enum_values(_attr("litellm.types.guardrails", "GuardrailEventHooks")),
    ),
    _Constant(
        "CALLBACK_NAMES",
        "Built-in callbacks / success_callback / failure_callback names.",
        _callback_names,
    ),
)


# --------------------------------------------------------------------------- rendering


def _string_literal(text: str) -> str:
    if not text.isprintable() or '"' in text or "\\" in text:
        raise ValueError(f"{text!r} needs escaping; the renderer does not do that")
    return f'"{text}"'


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in text.splitlines()]


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def render_module() -> str:
    """The full text of ``_litellm_keys.py`` for the LiteLLM installed in this environment."""
    _attribute_probe()
    litellm_version = _version("litellm")
    if litellm_version is None:
        raise RuntimeError("litellm is not installed in this environment")
    enterprise_version = _version("litellm-enterprise") if _package_dir(_ENTERPRISE) else None
    origin = f"litellm {litellm_version}" + (
        f" (with litellm-enterprise {enterprise_version})" if enterprise_version else ""
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LiteLLM's own deprecations are not this script's to report
        computed = {constant.name: constant.compute() for constant in _CONSTANTS}
    lines = [
        f"# Generated by scripts/generate_litellm_keys.py from {origin}.",
        "# Do not edit: regenerate it as that script's docstring says.",
        f'"""The config keys LiteLLM {litellm_version} accepts, as data: gateway_config never imports litellm."""',
        "",
        "__all__ = [",
        *(f"    {_string_literal(name)}," for name in sorted(["LITELLM_VERSION", *(c.name for c in _CONSTANTS)])),
        "]",
        "",
        f"LITELLM_VERSION: str = {_string_literal(litellm_version)}",
    ]
    for constant in _CONSTANTS:
        values = computed[constant.name]
        if not values:
            raise RuntimeError(f"{constant.name} came out empty")
        lines += [
            "",
            *_comment(constant.origin),
            f"{constant.name}: frozenset[str] = frozenset(",
            "    {",
            *(f"        {_string_literal(value)}," for value in sorted(values)),
            "    }",
            ")",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print the generated module to stdout."""
    with contextlib.redirect_stdout(sys.stderr):  # LiteLLM prints as it loads; stdout is the module
        text = render_module()
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
