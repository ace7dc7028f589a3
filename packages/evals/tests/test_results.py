"""``results.json`` as typed records: written and read by one module, strictly, and back to the same bytes.

Properties (>= 100 examples each):

1. any valid :class:`Results` read back from its JSON (as an object and as the file's text) is equal to itself;
2. any one value of the committed baseline replaced by a value of no field's type is refused, with an error
   naming the file and that field's path.

And the committed baseline, read and written again, is the same file to the byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bedrockgate.evals.client import Failure
from bedrockgate.evals.dataset import DatasetInfo
from bedrockgate.evals.exceptions import ResultsError
from bedrockgate.evals.gates import GateResult
from bedrockgate.evals.metrics import Aggregate, LatencySummary, TypeScore
from bedrockgate.evals.results import (
    ConfigRecord,
    DatasetRecord,
    ExampleRecord,
    GatesRecord,
    PhoenixFailure,
    PhoenixRecord,
    PhoenixUpload,
    Results,
    RunRecord,
    load_results,
)
from bedrockgate.evals.testing import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

BASELINE = Path(__file__).resolve().parents[1] / "gates" / "baselines" / "local.json"

text = st.text(max_size=12)
counts = st.integers(min_value=0, max_value=10**9)
numbers = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
amounts = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def tuples(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(strategy, max_size=4).map(tuple)


runs = st.builds(RunRecord, text, text, numbers, counts, counts, maybe(numbers))
configs = st.builds(
    ConfigRecord,
    endpoint=text,
    model=text,
    embedding_model=maybe(text),
    api_key_env=text,
    api_key_set=st.booleans(),
    concurrency=st.integers(1, 64),
    timeout_s=numbers,
    retries=counts,
    backoff_s=numbers,
    max_backoff_s=numbers,
    max_tokens=st.integers(1, 10**6),
    temperature=numbers,
    system_prompt=text,
    user_template=text,
    prompt_digest=text,
    postprocess=tuples(text),
    dataset=text,
    samples=maybe(st.integers(1, 10**6)),
    offset=counts,
    seed=st.integers(),
    gates=st.dictionaries(text, numbers, max_size=3),
)
datasets = st.builds(
    DatasetRecord,
    st.builds(DatasetInfo, text, text, maybe(text), maybe(text), maybe(text), maybe(text), maybe(text), text, text),
    counts,
    counts,
)
failures = st.builds(Failure, text, text, maybe(st.integers(100, 599)))
examples = st.builds(
    ExampleRecord,
    id=text,
    title=text,
    question=text,
    question_type=text,
    answers=tuples(text),
    raw_answer=maybe(text),
    prediction=maybe(text),
    postprocess_changed=tuples(text),
    exact_match=st.sampled_from([0, 1]),
    f1=st.floats(0.0, 1.0),
    raw_exact_match=st.sampled_from([0, 1]),
    raw_f1=st.floats(0.0, 1.0),
    reference=maybe(text),
    similarity=maybe(numbers),
    similarity_error=maybe(text),
    latency_ms=maybe(amounts),
    elapsed_ms=maybe(amounts),
    attempts=counts,
    prompt_tokens=maybe(counts),
    completion_tokens=maybe(counts),
    total_tokens=maybe(counts),
    cost_usd=maybe(amounts),
    finish_reason=maybe(text),
    response_model=maybe(text),
    started_at=maybe(text),
    finished_at=maybe(text),
    error=maybe(failures),
)
phoenix = st.one_of(
    st.none(),
    st.builds(PhoenixRecord, st.builds(PhoenixUpload, text, text, text, text, counts, counts), text),
    st.builds(PhoenixFailure, text, text),
)


@st.composite
def aggregates(draw: st.DrawFn) -> Aggregate:
    """Aggregates as ``run`` makes them: no more answered than asked, no cost unless one was reported."""
    total = draw(st.integers(0, 10**6))
    reported = draw(st.integers(0, 100))
    return Aggregate(
        total=total,
        answered=draw(st.integers(0, total)),
        exact_match=draw(numbers),
        f1=draw(numbers),
        raw_exact_match=draw(numbers),
        raw_f1=draw(numbers),
        similarity=draw(maybe(numbers)),
        similarity_measured=draw(counts),
        similarity_errors=draw(counts),
        latency=draw(st.builds(LatencySummary, counts, *[maybe(amounts)] * 7)),
        prompt_tokens=draw(counts),
        completion_tokens=draw(counts),
        total_tokens=draw(counts),
        chat_cost_usd=draw(amounts) if reported else 0.0,
        embedding_cost_usd=draw(amounts) if reported else 0.0,
        cost_reported=reported,
        cost_expected=draw(st.integers(0, 100)),
        errors_by_kind=draw(st.dictionaries(text, counts, max_size=3)),
        attempts=draw(counts),
        retried=draw(counts),
        postprocess_changed=draw(st.dictionaries(text, counts, max_size=3)),
        served_by=draw(st.dictionaries(text, counts, max_size=3)),
        by_type=draw(tuples(st.builds(TypeScore, text, counts, numbers, numbers))),
    )


results = st.builds(
    Results,
    run=runs,
    config=configs,
    dataset=datasets,
    metrics=aggregates(),
    gates=st.builds(GatesRecord, tuples(st.builds(GateResult, text, numbers, maybe(numbers), st.booleans(), text))),
    versions=st.dictionaries(text, text, max_size=3),
    phoenix=phoenix,
    examples=st.lists(examples, max_size=4, unique_by=lambda example: example.id).map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(results)
def test_any_valid_results_read_back_equal(record: Results) -> None:
    assert Results.from_json(record.to_json()) == record
    assert Results.from_json(json.loads(record.dumps())) == record


def test_the_committed_baseline_is_written_back_to_the_byte() -> None:
    text = BASELINE.read_text(encoding="utf-8")
    assert load_results(BASELINE).dumps() == text


# --- malformed and older files --------------------------------------------------------------------

# Objects whose keys are data, not fields (the error names the object), and lists of strings.
_WHOLE = {"versions", "config.gates", "config.postprocess", "metrics.errors.by_kind", "metrics.postprocess_changed"}
_WHOLE |= {"metrics.served_by"}


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """``(the path the reader names, the keys that reach the value)`` for every scalar of a document."""
    yield from _walk(value, path, ())


def _walk(value: Any, path: str, keys: tuple[str | int, ...]) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "schema" and not path:
                continue
            named = path if path in _WHOLE else (f"{path}.{key}" if path else key)
            yield from _walk(item, named, (*keys, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            strings = path.endswith((".answers", ".postprocess_changed")) or path in _WHOLE
            yield from _walk(item, path if strings else f"{path}[{index}]", (*keys, index))
    else:
        yield path, keys


BASELINE_DOCUMENT = json.loads(BASELINE.read_text(encoding="utf-8"))
LEAVES = list(_leaves(BASELINE_DOCUMENT))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(LEAVES))
def test_a_value_of_the_wrong_type_is_refused_naming_the_file_and_the_field(
    tmp_path_factory: pytest.TempPathFactory, leaf: tuple[str, tuple[str | int, ...]]
) -> None:
    path, keys = leaf
    document = json.loads(json.dumps(BASELINE_DOCUMENT))
    holder = document
    for key in keys[:-1]:
        holder = holder[key]
    holder[keys[-1]] = ["x"]  # a list: the type of no scalar field
    file = tmp_path_factory.mktemp("results") / "results.json"
    file.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ResultsError) as raised:
        load_results(file)
    assert str(raised.value).startswith(f"{file}: {path}: expected "), (path, str(raised.value))
    assert str(raised.value).endswith(("got a list", "got an object"))  # the value, or the object holding it


def _edited(tmp_path: Path, edit: Any) -> Path:
    document = json.loads(BASELINE.read_text(encoding="utf-8"))
    edit(document)
    file = tmp_path / "results.json"
    file.write_text(json.dumps(document), encoding="utf-8")
    return file


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["examples"][3].update(f1="x"), "examples[3].f1: expected a number from 0 to 1, got 'x'"),
        (lambda d: d["examples"][3].update(f1=1.5), "examples[3].f1: expected a number from 0 to 1, got 1.5"),
        (lambda d: d["examples"][0].update(exact_match=0.5), "examples[0].exact_match: expected 0 or 1, got 0.5"),
        (lambda d: d["examples"][2].update(id=d["examples"][1]["id"]), "examples[2].id: expected an id not used"),
        (lambda d: d["examples"][0].pop("reference"), "examples[0].reference: missing (a results.json of another"),
        (lambda d: d["metrics"].update(extra=1), "metrics.extra: unknown field (this version reads total, "),
        (lambda d: d["metrics"]["errors"].update(count=3), "metrics.errors.count: expected 0 (what the other fields"),
        (lambda d: d["metrics"]["cost_usd"].update(reported=0), "metrics.cost_usd.chat: expected null, got "),
        (lambda d: d["metrics"].update(answered=31), "metrics.answered: expected a whole number of at least 0 and"),
        (lambda d: d["gates"].update(passed=False), "gates.passed: expected true (what the other fields give)"),
        (lambda d: d["config"].update(concurrency=0), "config.concurrency: expected a whole number of at least 1"),
        (lambda d: d.update(phoenix={"base_url": "x"}), "phoenix.dataset_id: missing"),
        (
            lambda d: d.update(schema="bedrockgate-evals/results/v0"),
            "not a results.json written by bedrockgate-evals run",
        ),
    ],
)
def test_malformed_files_are_refused_at_the_field(tmp_path: Path, edit: Any, message: str) -> None:
    file = _edited(tmp_path, edit)
    with pytest.raises(ResultsError) as raised:
        load_results(file)
    assert str(raised.value).startswith(f"{file}: {message}")


def test_the_cli_names_the_flag_the_file_came_from(tmp_path: Path) -> None:
    bad = _edited(tmp_path, lambda d: d["examples"][3].update(f1="x"))
    code, stdout, stderr = run_cli("gate", "--gates", str(BASELINE.parents[1] / "local.toml"), "--results", str(bad))
    assert (code, stdout) == (2, "")
    expected = f"--results {bad}: examples[3].f1: expected a number from 0 to 1, got 'x'\n"
    assert stderr == f"bedrockgate-evals: error: {expected}"
    code, _, stderr = run_cli("gate", "--gates", str(BASELINE.parents[1] / "local.toml"), "--results", str(tmp_path))
    assert code == 2
    assert stderr.startswith(f"bedrockgate-evals: error: --results {tmp_path}: {bad}: examples[3].f1: expected")
    code, _, stderr = run_cli("compare", str(BASELINE), str(bad))
    assert code == 2
    assert stderr.startswith(f"bedrockgate-evals: error: B (candidate) {bad}: examples[3].f1: expected a number")


def test_each_subcommand_names_the_flag_whose_input_is_at_fault(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    foreign = tmp_path / "out"
    foreign.mkdir()
    (foreign / "checkpoint.jsonl").write_text('{"type": "header", "format": 0}\n', encoding="utf-8")
    run = ["run", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--progress", "none", "--no-phoenix"]
    cases = [
        (["score", "--dataset", missing, "--predictions", str(BASELINE)], f"--dataset {missing}: cannot read the file"),
        (["score", "--dataset", str(BASELINE), "--predictions", missing], f"--predictions {missing}: cannot read the"),
        (["compare", missing, str(BASELINE)], f"A (baseline) {missing}: cannot read the file"),
        (["gate", "--gates", missing, "--results", str(BASELINE)], f"--gates {missing}: cannot read the gates file"),
        ([*run, "--dataset", missing, "--out", str(tmp_path / "run")], f"--dataset {missing}: no such file"),
        ([*run, "--dataset", "sample", "--out", str(foreign)], f"--out {foreign}: {foreign}/checkpoint.jsonl: not a"),
    ]
    for argv, message in cases:
        code, stdout, stderr = run_cli(*argv)
        assert (code, stdout) == (2, ""), argv
        assert stderr.startswith(f"bedrockgate-evals: error: {message}"), (argv, stderr)
