"""The pipeline tests' fixtures. The pipeline's code is installed in their venv (the ``pipelines`` group)."""

from __future__ import annotations

import json
import subprocess
import zipfile

import pytest
from bedrockgate_pipeline.deploy import cdk, deploy_context
from hypothesis import settings
from pipeline_helpers import ROOT, Synthesized

# Timing is the benchmarks' job, never a test's: on a loaded 2-core CI machine hypothesis's default 200 ms
# deadline per example fails correct code (it did, in pipelines/tests/test_publish.py).
settings.register_profile("bedrockgate", deadline=None)
settings.load_profile("bedrockgate")


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """One synth for every test that reads the templates (each synth costs tens of seconds)."""
    folder = tmp_path_factory.mktemp("synth")
    lambda_zip = folder / "lambda.zip"
    with zipfile.ZipFile(lambda_zip, "w") as archive:
        archive.writestr("handler.py", "")
    image = "127.0.0.1:5555/bedrockgate-gateway@sha256:" + "5e" * 32
    commit = "d" * 40
    context = deploy_context(gateway_image=image, source_commit=commit) | {
        "synth_only": "true", "chatbot": json.dumps({"enabled": True, "lambda_asset": str(lambda_zip)}),
    }  # fmt: skip
    out = folder / "cdk.out"
    command = cdk(["synth", "--quiet", "--output", str(out)], settings="settings/dev.yaml", context=context)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return Synthesized(out, image, commit)
