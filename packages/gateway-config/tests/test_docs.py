"""The examples in the package's docstrings run, so the documentation cannot drift from the code."""

from __future__ import annotations

import doctest
from pathlib import Path
from types import ModuleType

import bedrockgate.gateway_config
import pytest
from bedrockgate.gateway_config import lifecycle, model_map

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize(
    ("module", "examples"),
    [(bedrockgate.gateway_config, 7), (model_map, 4), (lifecycle, 2)],
    ids=["package", "model_map", "lifecycle"],
)
def test_docstring_examples_run(module: ModuleType, examples: int) -> None:
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted >= examples
    assert result.failed == 0


def test_the_readme_documents_the_model_checks_as_the_code_does_them() -> None:
    text = README.read_text(encoding="utf-8")
    for phrase in ("--strict", "deprecation_date", f"within {lifecycle.WARNING_DAYS} days", "generate_model_map.py"):
        assert phrase in text, phrase
