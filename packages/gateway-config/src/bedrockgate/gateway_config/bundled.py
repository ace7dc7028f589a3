"""The example configs shipped inside the package: known-good configs for tools, tests and demos.

They live in the package (not only in the repository) so that a ``pip install``-ed tool, such as
the local stack, has the agents' gateway to start with.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from bedrockgate.gateway_config.exceptions import GatewayConfigError

_EXAMPLES = files("bedrockgate.gateway_config") / "examples"


def example_names() -> list[str]:
    """The shipped examples' names (file stems), sorted."""
    return sorted(entry.name.removesuffix(".yaml") for entry in _EXAMPLES.iterdir() if entry.name.endswith(".yaml"))


def example_path(name: str) -> Path:
    """The file of the shipped example ``name`` (``agents-gateway``, ``nova-guardrail`` ...)."""
    resource = _EXAMPLES / f"{name}.yaml"
    if not resource.is_file():
        raise GatewayConfigError(f"no shipped example named {name!r}; the examples are: {', '.join(example_names())}")
    with as_file(resource) as path:  # a real file already: wheels install unzipped
        return Path(path)
