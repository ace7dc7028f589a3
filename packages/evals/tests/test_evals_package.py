"""The skeleton imports under the shared namespace, from its own distribution."""

import bedrockgate.evals


def test_imports_under_the_bedrockgate_namespace() -> None:
    assert bedrockgate.evals.__name__ == "bedrockgate.evals"
