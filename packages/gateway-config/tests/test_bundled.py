from pathlib import Path

import pytest
from bedrockgate.gateway_config import GatewayConfigError, example_names, example_path, load
from gateway_config_helpers import fixed_clock


def test_the_shipped_examples_are_the_ones_the_docs_name() -> None:
    assert example_names() == ["agents-gateway", "cost-based-routing", "nova-guardrail"]


@pytest.mark.parametrize("name", ["agents-gateway", "cost-based-routing", "nova-guardrail"])
def test_each_shipped_example_is_a_valid_config(name: str) -> None:
    path = example_path(name)
    assert path.is_file()
    assert load(path, clock=fixed_clock).model_list


def test_an_unknown_example_names_the_known_ones() -> None:
    with pytest.raises(GatewayConfigError, match="agents-gateway, cost-based-routing, nova-guardrail"):
        example_path("agent-gateway")


def test_the_repository_examples_folder_is_the_shipped_one() -> None:
    root_examples = Path(__file__).parents[3] / "examples"
    assert root_examples.resolve() == example_path("agents-gateway").parent.resolve()
