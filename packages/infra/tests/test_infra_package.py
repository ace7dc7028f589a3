"""The skeleton imports under the shared namespace, from its own distribution."""

import bedrockgate.infra


def test_imports_under_the_bedrockgate_namespace() -> None:
    assert bedrockgate.infra.__name__ == "bedrockgate.infra"
