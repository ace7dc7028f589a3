"""Gates files: the committed ones load, and every kind of bad input is refused naming file, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from bedrockgate.evals.exceptions import GatesFileError
from bedrockgate.evals.gatefile import BaselinePin, Tolerances, load_gates

GATES_DIR = Path(__file__).resolve().parents[1] / "gates"

VALID = """\
schema = "bedrockgate-evals/gates/v1"
environment = "test"
backend = "emulator"

[baseline]
results = "baselines/test.json"
dataset = "sample"
samples = 30
offset = 0
seed = 0
model = "claude-primary"
temperature = 0.0
max_tokens = 16
concurrency = 1

[tolerances]
alpha = 0.05
f1_drop_points = 0.0
error_rate_increase = 0.0
p95_latency_increase_pct = 200.0
cost_per_question_increase_pct = 10.0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "env.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_committed_local_gates_load() -> None:
    gates = load_gates(GATES_DIR / "local.toml")
    assert (gates.environment, gates.backend) == ("local", "emulator")
    assert gates.baseline == GATES_DIR / "baselines" / "local.json"
    assert gates.pin == BaselinePin("sample", 30, 0, 0, "claude-primary", 0.0, 16, 1)
    assert gates.tolerances.alpha == 0.05


def test_the_committed_dev_gates_pin_squad() -> None:
    gates = load_gates(GATES_DIR / "dev.toml")
    assert (gates.environment, gates.backend, gates.pin.dataset) == ("dev", "bedrock", "squad")


def test_a_valid_file_loads_with_every_value(tmp_path: Path) -> None:
    gates = load_gates(write(tmp_path, VALID.replace("samples = 30", 'samples = "all"')))
    assert gates.pin.samples is None
    assert gates.pin.run_arguments()[:4] == ["--dataset", "sample", "--samples", "all"]
    assert gates.tolerances == Tolerances(0.05, 0.0, 0.0, 200.0, 10.0)
    assert gates.baseline == tmp_path / "baselines" / "test.json"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("alpha = 0.05", "alpah = 0.05", "unknown key(s) alpah in [tolerances]"),
        ("seed = 0\n", "", "[baseline] lacks seed; every key is required"),
        ('environment = "test"\n', "", "the top level lacks environment"),
        ("gates/v1", "gates/v9", "this version of bedrockgate-evals reads 'bedrockgate-evals/gates/v1'"),
        ('backend = "emulator"', 'backend = "aws"', "backend = 'aws': use 'bedrock' (real models) or 'emulator'"),
        ('backend = "emulator"', 'backend = "bedrock"', 'set dataset = "squad"'),
        ('dataset = "sample"', 'dataset = "auto"', "it may fall back to the sample"),
        ('dataset = "sample"', 'dataset = "data.json"', 'use "sample", "squad" or "hub:OWNER/NAME"'),
        ("samples = 30", "samples = 0", '[baseline] samples = 0: expected a whole number of at least 1, or "all"'),
        ("seed = 0", "seed = true", "[baseline] seed = True: expected a whole number"),
        ("concurrency = 1", "concurrency = 0", "[baseline] concurrency = 0: expected a whole number of at least 1"),
        ("max_tokens = 16", "max_tokens = 1.5", "[baseline] max_tokens = 1.5: expected a whole number"),
        ('model = "claude-primary"', 'model = ""', "[baseline] model = '': expected a non-empty string"),
        ("alpha = 0.05", "alpha = 0", "[tolerances] alpha = 0.0: expected a level between 0 and 1"),
        ("alpha = 0.05", "alpha = 1.5", "[tolerances] alpha = 1.5: expected at most 1"),
        (
            "error_rate_increase = 0.0",
            "error_rate_increase = 2",
            "[tolerances] error_rate_increase = 2: expected at most 1",
        ),
        ("p95_latency_increase_pct = 200.0", "p95_latency_increase_pct = -1", "expected a number of 0 or more"),
        ("p95_latency_increase_pct = 200.0", 'p95_latency_increase_pct = "50%"', "expected a number of 0 or more"),
        ("p95_latency_increase_pct = 200.0", "p95_latency_increase_pct = nan", "expected a number of 0 or more"),
        ("[tolerances]\n", "tolerances = 3\n[other]\n", "unknown key(s) other in the top level"),
    ],
)
def test_bad_values_name_file_key_and_fix(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(GatesFileError) as caught:
        load_gates(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_a_table_that_is_not_a_table_is_named(tmp_path: Path) -> None:
    text = VALID[: VALID.index("[baseline]")] + "baseline = 3\ntolerances = 4\n"
    with pytest.raises(GatesFileError, match=r"\[baseline\]: expected a table, found 3"):
        load_gates(write(tmp_path, text))


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(GatesFileError, match="cannot read the gates file"):
        load_gates(tmp_path / "missing.toml")
    with pytest.raises(GatesFileError, match=r"not valid TOML .*see packages/evals/gates/local.toml"):
        load_gates(write(tmp_path, "schema = \n"))
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(GatesFileError, match="not a UTF-8 text file"):
        load_gates(tmp_path / "binary.toml")
