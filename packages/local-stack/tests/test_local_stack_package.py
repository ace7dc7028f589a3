"""The skeleton imports under the shared namespace, from its own distribution."""

import bedrockgate.local_stack


def test_imports_under_the_bedrockgate_namespace() -> None:
    assert bedrockgate.local_stack.__name__ == "bedrockgate.local_stack"
