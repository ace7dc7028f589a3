"""The CloudWatch Embedded Metric Format specification, as a check written from its text.

Source: "Specification: Embedded metric format" in the Amazon CloudWatch User Guide. Each rule
below quotes or paraphrases a MUST of that page (and of the CloudWatch API limits it refers to).
``emf_problems`` returns every rule a log line breaks; an empty list means CloudWatch Logs will
extract the metrics.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

# MetricDatum's units (the spec: "Values SHOULD be valid CloudWatch metric units").
UNITS: Final = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
        "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
        "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
        "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    }
)  # fmt: skip
MAX_EVENT_BYTES: Final = 256 * 1024  # "limited to a maximum size of 256 KB"
MAX_METRICS: Final = 100  # "MUST NOT contain more than 100 MetricDefinition objects"
MAX_VALUES: Final = 100  # "Numeric array metric targets MUST NOT have more than 100 members"
MAX_DIMENSIONS: Final = 30  # current CloudWatch limit per DimensionSet (the archived page said 9)
MAX_NAME: Final = 255  # names and namespaces: 1-255 characters
MAX_DIMENSION_VALUE: Final = 1024  # CloudWatch Dimension.Value: 1-1024 characters


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def emf_problems(line: str) -> list[str]:
    """Every way ``line`` breaks the EMF specification; ``[]`` for a valid document."""
    problems: list[str] = []
    if len(line.encode("utf-8")) > MAX_EVENT_BYTES:
        problems.append(f"the event is {len(line.encode())} bytes, over the 256 KB limit")
    try:
        # "The LogEvent message MUST be a valid JSON object with no additional data at the
        # beginning or end": json.loads refuses trailing data itself.
        root = json.loads(line, parse_constant=_reject_constant)
    except ValueError as error:
        return [*problems, f"not one JSON document: {error}"]
    if not isinstance(root, dict):
        return [*problems, "the root is not a JSON object"]
    metadata = root.get("_aws")
    if not isinstance(metadata, dict):
        return [*problems, "the root has no _aws object"]
    timestamp = metadata.get("Timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
        problems.append(f"_aws.Timestamp must be whole milliseconds since the epoch, got {timestamp!r}")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        return [*problems, "_aws.CloudWatchMetrics must be an array of MetricDirectives"]
    for index, directive in enumerate(directives):
        problems.extend(f"CloudWatchMetrics[{index}]: {p}" for p in _directive_problems(directive, root))
    return problems


def _directive_problems(directive: object, root: dict[str, Any]) -> list[str]:
    if not isinstance(directive, dict):
        return ["a MetricDirective must be an object"]
    problems: list[str] = []
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not 1 <= len(namespace) <= MAX_NAME:
        problems.append(f"Namespace must be a string of 1-255 characters, got {namespace!r}")
    dimension_keys = _dimension_problems(directive.get("Dimensions"), root, problems)
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list):
        return [*problems, "Metrics must be an array of MetricDefinitions"]
    if len(metrics) > MAX_METRICS:
        problems.append(f"{len(metrics)} MetricDefinitions, over the limit of 100")
    names: set[str] = set()
    for definition in metrics:
        problems.extend(_definition_problems(definition, root, dimension_keys, names))
    return problems


def _dimension_problems(dimension_sets: object, root: dict[str, Any], problems: list[str]) -> set[str]:
    """Check the DimensionSets (appending to ``problems``); the dimension keys they name."""
    keys: set[str] = set()
    if not isinstance(dimension_sets, list) or not dimension_sets:
        problems.append("Dimensions must be a non-empty array of DimensionSets")
        return keys
    for dimension_set in dimension_sets:
        if not isinstance(dimension_set, list) or len(dimension_set) > MAX_DIMENSIONS:
            problems.append(f"a DimensionSet must be an array of at most 30 keys, got {dimension_set!r}")
            continue
        if len(set(map(str, dimension_set))) != len(dimension_set):
            problems.append(f"a DimensionSet repeats a key: {dimension_set!r}")
        for key in dimension_set:
            if not isinstance(key, str) or not 1 <= len(key) <= MAX_NAME:
                problems.append(f"a dimension key must be a string of 1-255 characters, got {key!r}")
                continue
            keys.add(key)
            problem = _dimension_target_problem(key, root)
            if problem is not None:
                problems.append(problem)
    return keys


def _dimension_target_problem(key: str, root: dict[str, Any]) -> str | None:
    # "The values within this array MUST also be members on the root-node" and "The target
    # member MUST have a string value".
    if key not in root:
        return f"dimension {key!r} is not a member of the root"
    value = root[key]
    if not isinstance(value, str):
        return f"dimension {key!r} must have a string value, got {value!r}"
    if not value.strip() or len(value) > MAX_DIMENSION_VALUE:
        return f"dimension {key!r} value must have 1-1024 characters, not only spaces"
    return None


def _definition_problems(
    definition: object, root: dict[str, Any], dimension_keys: set[str], names: set[str]
) -> list[str]:
    if not isinstance(definition, dict):
        return ["a MetricDefinition must be an object"]
    name = definition.get("Name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        return [f"a metric Name must be a string of 1-255 characters, got {name!r}"]
    problems: list[str] = []
    if name in names:
        problems.append(f"metric {name!r} is defined twice")
    names.add(name)
    if name in dimension_keys:
        problems.append(f"{name!r} is both a dimension and a metric")
    unit = definition.get("Unit", "None")
    if not isinstance(unit, str) or unit not in UNITS:
        problems.append(f"metric {name!r} has unit {unit!r}, not a CloudWatch unit")
    resolution = definition.get("StorageResolution", 60)
    if isinstance(resolution, bool) or resolution not in (1, 60):
        problems.append(f"metric {name!r} StorageResolution must be 1 or 60, got {resolution!r}")
    # "Metric targets MUST be either a numeric value or an array of numeric values."
    value = root.get(name)
    if name not in root:
        problems.append(f"metric {name!r} is not a member of the root")
    elif isinstance(value, list):
        if not value or len(value) > MAX_VALUES or not all(_is_number(v) for v in value):
            problems.append(f"metric {name!r} must be an array of 1-100 numbers, got {value!r}")
    elif not _is_number(value):
        problems.append(f"metric {name!r} must be a number, got {value!r}")
    return problems
