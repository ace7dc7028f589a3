"""The Lambda zip: exactly the run-time modules, reproducible, and importable alone."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from bedrockgate.lex_fulfillment import bundle

CALL = """
import json, sys
sys.path[:0] = [sys.argv[1]]
before = set(sys.modules)
import bedrockgate.lex_fulfillment as package
response = package.lambda_handler({"inputTranscript": "hi", "sessionState": {"sessionAttributes": {"k": "v"}}}, None)
loaded = sorted(set(sys.modules) - before)
print(json.dumps({"file": package.__file__, "response": response, "loaded": loaded}))
"""


def run_from(directory: Path) -> dict[str, object]:
    # -I -S: no site-packages, no environment, no user site: only the zip's contents and the stdlib.
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", CALL, str(directory)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(completed.stdout.splitlines()[-1])
    return result


def test_the_zip_holds_exactly_the_run_time_modules(tmp_path: Path) -> None:
    path = bundle.build_zip(tmp_path)
    assert path == tmp_path / "lex-fulfillment.zip"
    names = zipfile.ZipFile(path).namelist()
    expected = sorted(f"bedrockgate/lex_fulfillment/{source.name}" for source in bundle.runtime_sources())
    assert names == expected
    assert "bedrockgate/lex_fulfillment/bundle.py" not in names, "the build tool is not deployed"
    assert "bedrockgate/__init__.py" not in names, "bedrockgate stays a namespace package"
    assert not [name for name in names if name.endswith(".pth")]


def test_the_zip_is_reproducible(tmp_path: Path) -> None:
    first = bundle.build_zip(tmp_path / "a").read_bytes()
    second = bundle.build_zip(tmp_path / "b").read_bytes()
    assert first == second


def test_the_handler_runs_from_the_extracted_zip_with_the_standard_library_only(tmp_path: Path) -> None:
    zipfile.ZipFile(bundle.build_zip(tmp_path)).extractall(tmp_path / "task")
    result = run_from(tmp_path / "task")
    assert str(result["file"]).startswith(str(tmp_path / "task"))
    response = result["response"]
    assert isinstance(response, dict)
    assert response["sessionState"]["sessionAttributes"] == {"k": "v"}
    assert response["messages"][0]["content"].startswith("Sorry, I couldn't process your request")
    loaded = result["loaded"]
    assert isinstance(loaded, list)
    # The cold-start path stays small: the network, TLS, boto3 and friends load only when used.
    assert not set(loaded) & {
        "http.client",
        "ssl",
        "urllib.request",
        "boto3",
        "botocore",
        "random",
        "ast",
        "typing",
        "dataclasses",
    }


def test_bytecode_is_used_when_asked_for(tmp_path: Path) -> None:
    path = bundle.build_zip(tmp_path, bytecode=True)
    tag = sys.implementation.cache_tag
    names = zipfile.ZipFile(path).namelist()
    assert f"bedrockgate/lex_fulfillment/__pycache__/handler.{tag}.pyc" in names
    task = tmp_path / "task"
    zipfile.ZipFile(path).extractall(task)
    # Unchecked-hash bytecode is loaded without looking at the source: break the source to prove it.
    (task / "bedrockgate" / "lex_fulfillment" / "text.py").write_text("this is not python", encoding="utf-8")
    response = run_from(task)["response"]
    assert isinstance(response, dict)
    assert response["messages"]


def test_the_command_line_prints_what_it_built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bundle.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "lex-fulfillment.zip") in out
    assert "handler: bedrockgate.lex_fulfillment.lambda_handler" in out
    assert "CodeSha256: " in out
