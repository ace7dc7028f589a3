"""The package imports under the shared namespace, from its own distribution, with a small import."""

import doctest
import importlib.metadata
import json
import subprocess
import sys

import bedrockgate.lex_fulfillment


def test_imports_under_the_bedrockgate_namespace() -> None:
    assert bedrockgate.lex_fulfillment.__name__ == "bedrockgate.lex_fulfillment"
    assert callable(bedrockgate.lex_fulfillment.lambda_handler)


def test_the_version_matches_the_distribution() -> None:
    assert bedrockgate.lex_fulfillment.__version__ == importlib.metadata.version("bedrockgate-lex-fulfillment")


def test_importing_loads_no_third_party_module() -> None:
    code = (
        "import sys; before = set(sys.modules); import bedrockgate.lex_fulfillment; "
        "import json; new = set(sys.modules) - before; "
        "print(json.dumps(sorted(m for m in new if not m.startswith('bedrockgate'))))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(output)
    third_party = [name for name in loaded if name.split(".")[0] not in sys.stdlib_module_names]
    assert third_party == []


def test_the_module_documentation_runs() -> None:
    result = doctest.testmod(bedrockgate.lex_fulfillment)
    assert result.attempted > 0
    assert result.failed == 0
