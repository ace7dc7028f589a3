"""The examples in the docstrings run, so the documentation cannot drift from the code."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import bedrockgate.evals


def test_docstring_examples_run() -> None:
    attempted = 0
    for module_info in pkgutil.iter_modules(bedrockgate.evals.__path__, "bedrockgate.evals."):
        if module_info.name.endswith("__main__"):
            continue
        result = doctest.testmod(importlib.import_module(module_info.name), raise_on_error=False)
        assert result.failed == 0, module_info.name
        attempted += result.attempted
    result = doctest.testmod(bedrockgate.evals, raise_on_error=False)
    assert result.failed == 0
    assert attempted + result.attempted >= 20
