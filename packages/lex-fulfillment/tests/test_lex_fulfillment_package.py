"""The skeleton imports under the shared namespace, from its own distribution."""

import bedrockgate.lex_fulfillment


def test_imports_under_the_bedrockgate_namespace() -> None:
    assert bedrockgate.lex_fulfillment.__name__ == "bedrockgate.lex_fulfillment"
