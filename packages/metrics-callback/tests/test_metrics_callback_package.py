"""The skeleton imports under the shared namespace, from its own distribution."""

import bedrockgate.metrics_callback


def test_imports_under_the_bedrockgate_namespace() -> None:
    assert bedrockgate.metrics_callback.__name__ == "bedrockgate.metrics_callback"
