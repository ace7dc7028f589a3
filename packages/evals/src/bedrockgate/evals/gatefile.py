"""Gates files: one reviewed TOML file per environment, naming the baseline a release is compared to.

A threshold (``run --min-f1``) cannot see a regression that still clears it; a comparison can,
but only against a baseline made the same way. So the file pins three things together:

- ``[baseline]``: the committed ``results.json`` to compare to (a path relative to the file) and
  the run settings it was made with (dataset, samples, offset, seed, model, temperature,
  max_tokens, concurrency). A candidate made otherwise is refused, not judged: a different sample
  or model makes the paired tests meaningless, and concurrency changes what latency measures.
  The prompt and post-processing are deliberately not pinned: they are what a release changes.
- ``backend``: ``bedrock`` (a real environment) or ``emulator`` (the local stack). A ``bedrock``
  file must pin ``dataset = "squad"``: a real model is never gated on the offline sample.
- ``[tolerances]``: the paired tests' ``alpha``, and how far error rate, p95 latency and cost
  per question may move before the gate fails.

TOML because it takes comments (each tolerance should say why it is what it is) and Python 3.11
reads it (``tomllib``) with no new dependency. Every error names the file, the key and the fix.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrockgate.evals.exceptions import GatesFileError

__all__ = ["SCHEMA", "BaselinePin", "GatesFile", "Tolerances", "load_gates"]

SCHEMA = "bedrockgate-evals/gates/v1"
BACKENDS = ("bedrock", "emulator")
_TOP_KEYS = frozenset({"schema", "environment", "backend", "baseline", "tolerances"})
_BASELINE_KEYS = (
    "results",
    "dataset",
    "samples",
    "offset",
    "seed",
    "model",
    "temperature",
    "max_tokens",
    "concurrency",
)
_TOLERANCE_KEYS = (
    "alpha",
    "f1_drop_points",
    "error_rate_increase",
    "p95_latency_increase_pct",
    "cost_per_question_increase_pct",
)


@dataclass(frozen=True, slots=True)
class BaselinePin:
    """The run settings the baseline was made with; every candidate must be made the same way."""

    dataset: str
    """``sample``, ``squad`` or ``hub:OWNER/NAME`` (never ``auto``: it may fall back to the sample)."""
    samples: int | None
    """``None`` for the whole dataset (``samples = "all"``)."""
    offset: int
    seed: int
    model: str
    temperature: float
    max_tokens: int
    concurrency: int

    def settings(self) -> dict[str, Any]:
        """The pinned values under the names ``results.json`` records them (its ``config`` block)."""
        return {
            "dataset": self.dataset,
            "samples": self.samples,
            "offset": self.offset,
            "seed": self.seed,
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "concurrency": self.concurrency,
        }

    def run_arguments(self) -> list[str]:
        """The ``bedrockgate-evals run`` options that make a comparable run.

        >>> pin = BaselinePin("sample", 30, 0, 0, "claude-primary", 0.0, 16, 1)
        >>> " ".join(pin.run_arguments()[:8])
        '--dataset sample --samples 30 --offset 0 --seed 0'
        >>> " ".join(pin.run_arguments()[8:])
        '--model claude-primary --temperature 0 --max-tokens 16 --concurrency 1'
        """
        return [
            *("--dataset", self.dataset),
            *("--samples", "all" if self.samples is None else str(self.samples)),
            *("--offset", str(self.offset)),
            *("--seed", str(self.seed)),
            *("--model", self.model),
            *("--temperature", f"{self.temperature:g}"),
            *("--max-tokens", str(self.max_tokens)),
            *("--concurrency", str(self.concurrency)),
        ]


@dataclass(frozen=True, slots=True)
class Tolerances:
    """How far a candidate may move from the baseline before the gate fails."""

    alpha: float = 0.05
    """Two-sided level of the paired tests; the gate fails only on a drop, so at most ``alpha / 2`` each by chance."""
    f1_drop_points: float = 0.0
    """A significant F1 drop of at most this many points (0-100 scale) still passes."""
    error_rate_increase: float = 0.0
    """The candidate's error rate may exceed the baseline's by at most this fraction (0.02 = 2 points)."""
    p95_latency_increase_pct: float = 50.0
    cost_per_question_increase_pct: float = 10.0


@dataclass(frozen=True, slots=True)
class GatesFile:
    """One environment's gate, as loaded from its file."""

    path: Path
    environment: str
    backend: str
    baseline: Path
    """The baseline ``results.json``, resolved against the gates file's directory."""
    pin: BaselinePin
    tolerances: Tolerances


def load_gates(path: Path) -> GatesFile:
    """Read and check a gates file; a :class:`GatesFileError` names the file, the key and the fix."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise GatesFileError(f"{path}: cannot read the gates file ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        raise GatesFileError(f"{path}: not a UTF-8 text file ({error})") from error
    except tomllib.TOMLDecodeError as error:
        raise GatesFileError(f"{path}: not valid TOML ({error}); see packages/evals/gates/local.toml") from error
    reader = _Reader(path)
    reader.known(document, "", _TOP_KEYS)
    schema = reader.string(document, "", "schema")
    if schema != SCHEMA:
        raise GatesFileError(f"{path}: schema = {schema!r}: this version of bedrockgate-evals reads {SCHEMA!r}")
    backend = reader.string(document, "", "backend")
    if backend not in BACKENDS:
        raise GatesFileError(
            f"{path}: backend = {backend!r}: use 'bedrock' (real models) or 'emulator' (the local stack)"
        )
    baseline = reader.table(document, "baseline")
    tolerances = reader.table(document, "tolerances")
    reader.known(baseline, "baseline", frozenset(_BASELINE_KEYS))
    reader.known(tolerances, "tolerances", frozenset(_TOLERANCE_KEYS))
    pin = _pin(reader, baseline)
    if backend == "bedrock" and pin.dataset != "squad":
        raise GatesFileError(
            f"{path}: [baseline] dataset = {pin.dataset!r}, but backend = 'bedrock' gates a real model: "
            'set dataset = "squad" (the Hub\'s SQuAD v1.1 dev set; samples = "all" or a seeded sample), '
            "never the offline sample"
        )
    results = reader.string(baseline, "baseline", "results")
    return GatesFile(
        path=path,
        environment=reader.string(document, "", "environment"),
        backend=backend,
        baseline=(path.parent / results),
        pin=pin,
        tolerances=_tolerances(reader, tolerances),
    )


def _pin(reader: _Reader, table: Mapping[str, Any]) -> BaselinePin:
    dataset = reader.string(table, "baseline", "dataset")
    if dataset not in {"sample", "squad"} and not (dataset.startswith("hub:") and "/" in dataset):
        reason = (
            "it may fall back to the sample, so a gate cannot pin it" if dataset == "auto" else "not a pinned source"
        )
        raise GatesFileError(
            f'{reader.path}: [baseline] dataset = {dataset!r}: {reason}; use "sample", "squad" or "hub:OWNER/NAME"'
        )
    samples_value = table["samples"]
    if samples_value == "all":
        samples = None
    elif _integer(samples_value) and samples_value >= 1:
        samples = int(samples_value)
    else:
        raise GatesFileError(
            f'{reader.path}: [baseline] samples = {samples_value!r}: expected a whole number of at least 1, or "all"'
        )
    concurrency = reader.integer(table, "baseline", "concurrency", minimum=1)
    return BaselinePin(
        dataset=dataset,
        samples=samples,
        offset=reader.integer(table, "baseline", "offset", minimum=0),
        seed=reader.integer(table, "baseline", "seed", minimum=None),
        model=reader.string(table, "baseline", "model"),
        temperature=reader.number(table, "baseline", "temperature", upper=None),
        max_tokens=reader.integer(table, "baseline", "max_tokens", minimum=1),
        concurrency=concurrency,
    )


def _tolerances(reader: _Reader, table: Mapping[str, Any]) -> Tolerances:
    alpha = reader.number(table, "tolerances", "alpha", upper=1.0)
    if not 0 < alpha < 1:
        raise GatesFileError(
            f"{reader.path}: [tolerances] alpha = {alpha!r}: expected a level between 0 and 1, e.g. 0.05"
        )
    return Tolerances(
        alpha=alpha,
        f1_drop_points=reader.number(table, "tolerances", "f1_drop_points", upper=100.0),
        error_rate_increase=reader.number(table, "tolerances", "error_rate_increase", upper=1.0),
        p95_latency_increase_pct=reader.number(table, "tolerances", "p95_latency_increase_pct", upper=None),
        cost_per_question_increase_pct=reader.number(table, "tolerances", "cost_per_question_increase_pct", upper=None),
    )


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class _Reader:
    """Typed reads from the parsed document, each failure naming ``file: [table] key``."""

    path: Path

    def where(self, table: str, key: str) -> str:
        return f"{self.path}: " + (f"[{table}] {key}" if table else key)

    def known(self, table: Mapping[str, Any], name: str, keys: frozenset[str]) -> None:
        unknown = sorted(set(table) - keys)
        if unknown:
            where = f"[{name}]" if name else "the top level"
            raise GatesFileError(
                f"{self.path}: unknown key(s) {', '.join(unknown)} in {where}; the keys there are "
                f"{', '.join(sorted(keys))} (a typo would otherwise switch a gate off)"
            )
        missing = sorted(keys - set(table))
        if missing:
            where = f"[{name}]" if name else "the top level"
            raise GatesFileError(
                f"{self.path}: {where} lacks {', '.join(missing)}; every key is required, so the file says "
                "each setting out loud (see packages/evals/gates/local.toml)"
            )

    def table(self, document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = document.get(name)
        if not isinstance(value, dict):
            raise GatesFileError(f"{self.path}: [{name}]: expected a table, found {value!r}")
        return value

    def string(self, table: Mapping[str, Any], name: str, key: str) -> str:
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            raise GatesFileError(f"{self.where(name, key)} = {value!r}: expected a non-empty string")
        return value

    def integer(self, table: Mapping[str, Any], name: str, key: str, *, minimum: int | None) -> int:
        value = table[key]
        if not _integer(value) or (minimum is not None and value < minimum):
            bound = "" if minimum is None else f" of at least {minimum}"
            raise GatesFileError(f"{self.where(name, key)} = {value!r}: expected a whole number{bound}")
        return int(value)

    def number(self, table: Mapping[str, Any], name: str, key: str, *, upper: float | None) -> float:
        value = table[key]
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise GatesFileError(f"{self.where(name, key)} = {value!r}: expected a number of 0 or more")
        if upper is not None and value > upper:
            raise GatesFileError(f"{self.where(name, key)} = {value!r}: expected at most {upper:g}")
        return float(value)
