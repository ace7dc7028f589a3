"""bedrockgate-evals' own nox jobs, registered by the root noxfile (not run by default).

``./dev nox -s bench_evals`` prints the benchmark figures (scoring speed, HF ``evaluate`` ratio
when it loads offline, runner efficiency); nothing in it passes or fails on timing.
"""

from __future__ import annotations

from pathlib import Path

import nox
from bedrockgate_pipeline.nox_env import sync

PACKAGE = Path(__file__).resolve().parent


@nox.session(python="3.11", default=False)
def bench_evals(session: nox.Session) -> None:
    """Benchmark figures for the SQuAD scorer and the runner (see packages/evals/tests/bench_evals.py)."""
    sync(session, "--package", "bedrockgate-evals", "--no-default-groups", "--group", "bench")
    # No network: the Hugging Face libraries must use what is on disk, or say they cannot.
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1"}
    session.run("python", str(PACKAGE / "tests" / "bench_evals.py"), *session.posargs, env=offline)
