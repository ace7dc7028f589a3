"""The examples in the package's docstrings run, so the documentation cannot drift from the code."""

from __future__ import annotations

import doctest

import bedrockgate.gateway_config


def test_package_docstring_examples_run() -> None:
    result = doctest.testmod(bedrockgate.gateway_config, raise_on_error=False)
    assert result.attempted >= 3
    assert result.failed == 0
