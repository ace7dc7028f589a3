"""The release gate by comparison, as the pipeline's sessions run it: the eval made as the gates file pins, then judged.

``packages/evals/gates/<env>.toml`` names the baseline and the run settings (dataset, sample, seed,
model, temperature, max tokens, concurrency); ``bedrockgate-evals gate --print-run-args`` prints them, so
a stage never restates them, and ``bedrockgate-evals gate`` compares the run with the baseline (exit 1:
a significant drop or a tolerance exceeded; exit 2: a run that cannot be compared).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parents[4]
LOCAL_GATES = ROOT / "packages" / "evals" / "gates" / "local.toml"
"""The local stack's gates: the embedded model's committed baseline and the tolerances measured in RATES.md."""
FLOOR = ("--max-error-rate", "0", "--min-f1", "5")
"""Absolute floors kept beside the comparison: no failed request, answers that overlap the gold ones at all."""


def run_and_gate(
    session: nox.Session, *, endpoint: str, key_env: str, out: Path, env: Mapping[str, str], gates: Path = LOCAL_GATES
) -> None:
    """``bedrockgate-evals run`` against ``endpoint`` with the gates file's settings, then its ``gate``."""
    printed = session.run("bedrockgate-evals", "gate", "--gates", str(gates), "--print-run-args", silent=True)
    run_args = shlex.split(str(printed).strip().splitlines()[-1])
    session.run("bedrockgate-evals", "run", "--endpoint", endpoint, "--api-key-env", key_env, *run_args,
                "--out", str(out), "--progress", "plain", "--no-phoenix", "--fresh", *FLOOR, env=dict(env))  # fmt: skip
    session.run("bedrockgate-evals", "gate", "--gates", str(gates), "--results", str(out), env=dict(env))
