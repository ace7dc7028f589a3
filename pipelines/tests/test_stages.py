"""Both runners expose exactly the stages of the one definition."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from bedrockgate_pipeline.main import Bedrockgate
from bedrockgate_pipeline.stages import COMPOSITE, STAGES, ci_stages, dagger_names, nox_names, stage
from pipeline_helpers import ROOT


def _nox_sessions() -> set[str]:
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "-f", str(ROOT / "noxfile.py")],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    # "* name -> doc" (default) and "- name -> doc" (on demand); tests(package='x') counts as tests
    return set(re.findall(r"^[*-] ([a-z_]+)", listed.stdout, flags=re.MULTILINE))


def _dagger_functions() -> set[str]:
    functions = vars(Bedrockgate)["__dagger_module__"]._objects["Bedrockgate"].functions
    return {name.replace("_", "-") for name in functions}


def test_nox_and_dagger_expose_the_same_stages() -> None:
    assert nox_names() <= _nox_sessions()
    assert _dagger_functions() == dagger_names()
    assert {n.replace("_", "-") for n in nox_names()} == dagger_names()


def test_ci_is_an_unbroken_prefix_that_stops_at_synth_before_evaluate() -> None:
    """ci runs the checks that need no running gateway: a prefix of the stages, never a stage skipped
    and resumed, ending at synth; evaluate (the first stage that judges a running image) follows."""
    names = [s.name for s in STAGES]
    ci = [s.name for s in ci_stages()]
    assert names[: len(ci)] == ci
    assert ci[-1] == "synth"
    assert names[len(ci)] == "evaluate"
    assert ci[:3] == ["lint", "typecheck", "tests"]  # the cheapest checks fail first
    assert stage("deploy").needs == (COMPOSITE, "evaluate", "bootstrap")


_SHOW_DEFAULTS = "import json, runpy, nox; runpy.run_path('noxfile.py'); print(json.dumps(nox.options.sessions))"


def _default_sessions() -> list[str]:
    """nox's default sessions in the order it runs them (``nox.options.sessions`` after the noxfile loads)."""
    shown = subprocess.run(
        [sys.executable, "-c", _SHOW_DEFAULTS],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return list(json.loads(shown.stdout))


def test_dev_test_nox_ci_and_dagger_ci_run_the_same_stages() -> None:
    """Defect: ci (both runners) left out the pipeline's tests and the image; ./dev test ran another list."""
    from bedrockgate_pipeline.main import CI_STEPS  # noqa: PLC0415 -- the Dagger side

    ci_sessions = [s.ci_session for s in ci_stages()]
    assert [name for name in _default_sessions() if name in ci_sessions] == ci_sessions  # ./dev test, in order
    extra = [name for name in _default_sessions() if name not in ci_sessions]
    assert set(extra) <= {"harness_quick"}  # the only addition: the quick harness proving the functions' inputs
    assert list(CI_STEPS) == [s.name for s in ci_stages()]  # dagger call ci
    assert {"pipeline", "gateway_image", "supply_chain"} <= {s.name for s in ci_stages()}


def test_every_need_is_an_earlier_stage_or_ci() -> None:
    seen: set[str] = {COMPOSITE}
    for current in STAGES:
        assert set(current.needs) <= seen | {s.name for s in STAGES[: STAGES.index(current)]}
        seen.add(current.name)


def test_every_input_exists_in_the_repository() -> None:
    for current in STAGES:
        missing = [path for path in current.inputs if not (ROOT / path).exists()]
        assert not missing, f"{current.name} reads {missing}, which do not exist"


def test_an_unknown_stage_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="lint, typecheck"):
        stage("package")
    assert stage("gateway-image") is stage("gateway_image")


def test_the_dagger_ci_tests_every_workspace_package() -> None:
    from bedrockgate_pipeline.affected import workspace_graph  # noqa: PLC0415 -- only this test needs the graph
    from bedrockgate_pipeline.main import PACKAGES  # noqa: PLC0415 -- as above

    assert set(PACKAGES) == set(workspace_graph(ROOT))
