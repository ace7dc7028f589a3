"""Shared fixtures: the official dev set, the shipped sample, the official script, a real OpenAI-compatible server.

The Hugging Face libraries are kept offline and away from the user's cache for the whole session:
no test may reach the network, and ``datasets`` writes its Arrow cache under a temporary directory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest
from bedrockgate.evals.dataset import Question, SquadDataset
from bedrockgate.evals.sampling import select
from bedrockgate.evals.sources import load_file, load_sample
from bedrockgate.evals.testing import FakeOpenAI, Script, serve
from hypothesis import settings

# Timing is the benchmarks' job, never a test's: on a loaded 2-core CI machine hypothesis's default 200 ms
# deadline per example fails correct code (it did, in pipelines/tests/test_publish.py).
settings.register_profile("bedrockgate", deadline=None)
settings.load_profile("bedrockgate")

# Before anything imports datasets or huggingface_hub (they read these once, at import).
_HF_HOME = tempfile.mkdtemp(prefix="bedrockgate-evals-hf-")
os.environ.update(
    {
        "HF_HOME": _HF_HOME,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    }
)
os.environ.pop("PHOENIX_COLLECTOR_ENDPOINT", None)
os.environ.pop("OPENAI_API_KEY", None)

REPO_ROOT = Path(__file__).resolve().parents[3]
DEV_SET = REPO_ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json.gz"
OFFICIAL_SCRIPT = Path(__file__).resolve().parent / "official_evaluate_v1_1.py"


@pytest.fixture(scope="session")
def dev_set_path() -> Path:
    """The official SQuAD v1.1 dev file, shared by the project (tests skip without it)."""
    if not DEV_SET.is_file():
        pytest.skip(f"the shared SQuAD dev set is not at {DEV_SET}")
    return DEV_SET


@pytest.fixture(scope="session")
def dev_set(dev_set_path: Path) -> SquadDataset:
    """The full official SQuAD v1.1 dev set (10,570 questions)."""
    return load_file(dev_set_path)


@pytest.fixture(scope="session")
def official_script() -> Path:
    """The official evaluate-v1.1.py, unchanged, to run as a program."""
    return OFFICIAL_SCRIPT


@pytest.fixture(scope="session")
def official() -> ModuleType:
    """The official script as a module: ``normalize_answer``, ``f1_score``, ``exact_match_score``, ``evaluate``."""
    spec = importlib.util.spec_from_file_location("official_evaluate_v1_1", OFFICIAL_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sample() -> SquadDataset:
    """The sample shipped in the package."""
    return load_sample()


@pytest.fixture
def openai_server() -> Iterator[Callable[..., FakeOpenAI]]:
    """Start fake OpenAI servers on 127.0.0.1; all are stopped at the end of the test."""
    with contextlib.ExitStack() as stack:

        def start(
            *,
            answers: Mapping[str, str] | None = None,
            latency_s: float = 0.0,
            api_key: str | None = None,
            script: Script | None = None,
            cost_usd: float | None = None,
        ) -> FakeOpenAI:
            fake = FakeOpenAI(answers=answers, latency_s=latency_s, api_key=api_key, script=script, cost_usd=cost_usd)
            return stack.enter_context(serve(fake))

        yield start


@pytest.fixture(scope="session")
def small_sample(sample: SquadDataset) -> list[Question]:
    """A fixed 40-question slice of the sample, for runner tests."""
    return select(sample.questions, samples=40, seed=7)
