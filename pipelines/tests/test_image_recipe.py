"""The image recipe: entrypoint refusals, integration check, agreement with infra and local-stack."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from bedrockgate_pipeline.image.sbom import cyclonedx, lock_mismatches
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "pipelines" / "image"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"image_{name}", RECIPE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


entrypoint = _script("entrypoint")
check_integrations = _script("check_integrations")
HEX = st.text("0123456789abcdef", min_size=64, max_size=64)


@settings(max_examples=200)
@given(
    content=st.binary(max_size=200),
    database_url=st.sampled_from(["", "postgresql://u@h/db"]),
    database=st.sampled_from(["available", "unavailable"]),
    expected=st.one_of(st.just(""), HEX, st.just("match")),
)
def test_the_entrypoint_refuses_exactly_a_database_it_cannot_serve_and_a_config_that_is_not_the_deployed_one(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, database_url: str, database: str, expected: str
) -> None:
    config = tmp_path_factory.mktemp("config") / "config.yaml"
    config.write_bytes(content)
    actual = hashlib.sha256(content).hexdigest()
    digest = actual if expected == "match" else expected
    environ = {"DATABASE_URL": database_url, "BEDROCKGATE_CONFIG_SHA256": digest.upper()}
    found = entrypoint.problems(["--config", str(config), "--port", "4000"], environ, {"database": database})
    refuses_database = bool(database_url) and database == "unavailable"
    refuses_digest = bool(digest) and digest != actual
    assert len(found) == refuses_database + refuses_digest
    assert any("DATABASE_URL" in problem for problem in found) == refuses_database
    assert any(actual in problem and "BEDROCKGATE_CONFIG_SHA256" in problem for problem in found) == refuses_digest


def test_the_entrypoint_names_an_unreadable_config() -> None:
    found = entrypoint.problems(["--config=/nonexistent/config.yaml"], {"BEDROCKGATE_CONFIG_SHA256": "ab"}, {})
    assert found == [
        "cannot read the config /nonexistent/config.yaml (No such file or directory): mount it or pass --config"
    ]


WORKER_COUNTS = st.one_of(
    st.integers(-3, 64).map(str),
    st.sampled_from(["", "0", "00", "007", "+2", "2.0", " 2", "1_0", "two", "\u0662", "-0"]),
    st.text(max_size=6),
)


@settings(max_examples=300)
@given(option=st.one_of(st.none(), WORKER_COUNTS), variable=st.one_of(st.none(), WORKER_COUNTS))
def test_the_entrypoint_refuses_exactly_a_worker_count_that_is_not_a_positive_whole_number(
    option: str | None, variable: str | None
) -> None:
    argv = ["--config", "/app/config.yaml", *(["--num_workers", option] if option is not None else [])]
    environ = {} if variable is None else {"NUM_WORKERS": variable}
    found = entrypoint.problems(argv, environ, {"database": "available"})
    # LiteLLM's CLI: the option beats the variable; an empty variable is unset (its default, one worker).
    used = option if option is not None else (variable or None)
    assert len(found) == (used is not None and not (used.isascii() and used.isdigit() and int(used) > 0))
    if found:
        assert ("--num_workers" if option is not None else "NUM_WORKERS") in found[0]
        assert "positive whole number" in found[0]


def test_the_entrypoint_reads_the_worker_option_in_either_spelling() -> None:
    facts = {"database": "available"}
    assert entrypoint.problems(["--num_workers=0"], {"NUM_WORKERS": "4"}, facts) != []
    assert entrypoint.problems(["--num_workers=4"], {"NUM_WORKERS": "zero"}, facts) == []
    assert entrypoint.problems([], {"NUM_WORKERS": "4"}, facts) == []
    assert entrypoint.problems([], {"NUM_WORKERS": ""}, facts) == []  # empty: LiteLLM's default, one worker


def test_the_integration_check_lists_every_callback_and_guardrail_a_config_names() -> None:
    config = {
        "litellm_settings": {"callbacks": ["arize_phoenix", "bedrockgate.metrics_callback.metrics_logger"],
                             "success_callback": "langfuse"},
        "guardrails": [{"guardrail_name": "g", "litellm_params": {"guardrail": "bedrock", "mode": "pre_call"}},
                       {"guardrail_name": "h", "litellm_params": {"guardrail": "aporia"}}],
    }  # fmt: skip
    assert check_integrations.targets(config) == {
        "callback arize_phoenix": check_integrations.CALLBACK_MODULES["arize_phoenix"],
        "callback bedrockgate.metrics_callback.metrics_logger": ("bedrockgate.metrics_callback.metrics_logger",),
        "callback langfuse": ("litellm.integrations.langfuse",),
        "guardrail bedrock": ("litellm.proxy.guardrails.guardrail_hooks.bedrock_guardrails",),
        "guardrail aporia": ("litellm.proxy.guardrails.guardrail_hooks.aporia",),
    }
    assert (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter" in check_integrations.CALLBACK_MODULES["arize_phoenix"]
    )


def _constants(path: Path) -> dict[str, object]:
    """Module-level constants of a source file, read without importing it (its package is not installed here)."""
    values: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            continue
        target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
        if isinstance(target, ast.Name) and node.value is not None:
            try:
                values[target.id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return values


def test_the_containerfile_infra_and_the_local_stack_agree_on_user_writable_paths_and_entrypoint() -> None:
    containerfile = (RECIPE / "Containerfile").read_text(encoding="utf-8")
    infra = _constants(ROOT / "packages" / "infra" / "src" / "bedrockgate" / "infra" / "image_contract.py")
    local = _constants(ROOT / "packages" / "local-stack" / "src" / "bedrockgate" / "local_stack" / "containers.py")
    stack = _constants(ROOT / "packages" / "local-stack" / "src" / "bedrockgate" / "local_stack" / "stack.py")
    [user] = re.findall(r"^USER (\S+)$", containerfile, re.MULTILINE)
    assert user == infra["GATEWAY_USER"] == local["IMAGE_USER"]
    assert infra["GATEWAY_WRITABLE_PATHS"] == local["WRITABLE_PATHS"]
    [volume] = re.findall(r"^VOLUME (\[.*\])$", containerfile, re.MULTILINE)
    assert tuple(ast.literal_eval(volume)) == infra["GATEWAY_WRITABLE_PATHS"]
    # Owner and mode are set before VOLUME: a step after it could not change them (Fargate copies them).
    assert containerfile.index("chown 10001:10001 /tmp") < containerfile.index("VOLUME")
    # Workers answer their supervisor's ping only once LiteLLM is imported: the image and the venv proxy wait as long.
    assert re.search(rf"^\s+{stack['PING_VARIABLE']}={stack['WORKER_PING_TIMEOUT_S']}$", containerfile, re.MULTILINE)
    assert re.search(rf"EXPOSE {infra['GATEWAY_PORT']}\b", containerfile)
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"' in containerfile
    assert "FROM scratch" in containerfile
    assert "--no-index" in containerfile
    assert "--require-hashes" in containerfile


PACKAGES = st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.from_regex(r"[0-9]\.[0-9]", fullmatch=True))


@settings(max_examples=200)
@given(PACKAGES, PACKAGES)
def test_the_lock_check_reports_every_difference_and_nothing_when_equal(
    installed: dict[str, str], expected: dict[str, str]
) -> None:
    problems = lock_mismatches(installed, expected)
    differing = {name for name in set(installed) | set(expected) if installed.get(name) != expected.get(name)}
    assert len(problems) == len(differing)
    assert all(any(problem.startswith(name + " ") for problem in problems) for name in differing)
    assert lock_mismatches(installed, dict(installed)) == []


@settings(max_examples=100, deadline=None)
@given(PACKAGES, PACKAGES)
def test_the_sbom_is_valid_cyclonedx_listing_every_python_and_debian_package_by_purl(
    python: dict[str, str], debian: dict[str, str]
) -> None:
    document = cyclonedx("localhost/bedrockgate-gateway:x", "abc", python, debian, "arm64")
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(document) is None
    purls = {component["purl"] for component in json.loads(document).get("components", [])}
    assert purls == {f"pkg:pypi/{n}@{v}" for n, v in python.items()} | {
        f"pkg:deb/debian/{n}@{v}?arch=arm64&distro=debian-12" for n, v in debian.items()
    }


def test_one_run_names_one_commit_even_if_head_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defect seen here: a commit during the build changed the second build's version label (reproducibility failed)."""
    from bedrockgate_pipeline.image import build as build_  # noqa: PLC0415 -- the module under test

    for name in ("SOURCE_DATE_EPOCH", "BEDROCKGATE_REVISION", "BEDROCKGATE_IMAGE_VERSION"):
        monkeypatch.delenv(name, raising=False)
    build_.pin_source()
    for name in ("SOURCE_DATE_EPOCH", "BEDROCKGATE_REVISION", "BEDROCKGATE_IMAGE_VERSION"):
        monkeypatch.setenv(name, os.environ[name])  # undone after the test, like the deletions above
    pinned = (build_.source_date_epoch(), build_.revision(), build_._image_version(build_.revision()))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail(f"git asked again: {a}"))
    assert (build_.source_date_epoch(), build_.revision(), build_._image_version(build_.revision())) == pinned
