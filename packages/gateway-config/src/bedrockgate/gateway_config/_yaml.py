"""Read YAML the way LiteLLM does (``yaml.safe_load``), but keep the line of every key and item.

Users fix what they can find: every problem is reported at a line of their file. Duplicate keys,
which ``safe_load`` resolves silently to the last one, are reported too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from bedrockgate.gateway_config.exceptions import Location, Problem

__all__ = ["ParsedYaml", "parse_yaml"]


@dataclass(slots=True)
class ParsedYaml:
    """The document as Python data, and where each path starts in the text."""

    data: Any
    lines: dict[Location, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: Location) -> int | None:
        """The line of ``path``, or of its nearest ancestor that the document has."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def parse_yaml(text: str, source: str) -> ParsedYaml:
    """Parse one YAML document; a syntax error becomes a problem at its line, never an exception."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(part for part in (error.context, error.problem) if part) or "invalid YAML"
        return ParsedYaml(None, problems=[Problem((), f"YAML syntax error: {reason}", line, source)])
    except yaml.YAMLError as error:
        return ParsedYaml(None, problems=[Problem((), f"YAML error: {error}", None, source)])
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        # safe_load's constructors raise these for values such as out-of-range timestamps.
        return ParsedYaml(None, problems=[Problem((), f"YAML value error: {error}", None, source)])
    parsed = ParsedYaml(data)
    if node is not None:
        try:
            _index(node, (), parsed, source, frozenset())
        except RecursionError:
            parsed.problems.append(Problem((), "the document nests too deeply to be a config", None, source))
    return parsed


def _index(node: yaml.Node, path: Location, parsed: ParsedYaml, source: str, open_nodes: frozenset[int]) -> None:
    if id(node) in open_nodes:  # an alias that contains itself: its lines are indexed already
        return
    open_nodes = open_nodes | {id(node)}
    parsed.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                parsed.problems.append(
                    Problem(
                        (*path, key),
                        f"duplicate key {key!r} (first at line {seen[key]}): YAML keeps only the last one; "
                        "merge the two into one",
                        line,
                        source,
                    )
                )
            seen.setdefault(key, line)
            child: Location = (*path, key)
            parsed.lines[child] = line
            _index(value_node, child, parsed, source, open_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*path, index), parsed, source, open_nodes)
