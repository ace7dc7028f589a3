"""Datasets: the official format both ways, seeded samples, the shipped sample, Hub-layout rows, the Hub offline."""

from __future__ import annotations

import gzip
import importlib.resources
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from bedrockgate.evals._sample import build_sample
from bedrockgate.evals.dataset import ATTRIBUTION, Question, SquadDataset, parse_squad, squad_document
from bedrockgate.evals.exceptions import ConfigError, DatasetError, HubUnavailableError
from bedrockgate.evals.sampling import select
from bedrockgate.evals.sources import SAMPLE_RESOURCE, load_file, load_source
from hypothesis import given, settings
from hypothesis import strategies as st


def test_the_official_file_round_trips_through_the_question_records(dev_set: SquadDataset, dev_set_path: Path) -> None:
    document = json.loads(gzip.decompress(dev_set_path.read_bytes()))
    rebuilt = squad_document(dev_set.questions)
    assert rebuilt == {"version": "1.1", "data": document["data"]}  # same articles, paragraphs, questions, order
    assert parse_squad(rebuilt, "rebuilt") == list(dev_set.questions)
    assert dev_set.info.sha256 is not None
    assert len(dev_set.info.sha256) == 64


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], 'expected an object with a "data" list'),
        ({"data": [{"title": 1, "paragraphs": []}]}, "data[0].title: expected a string"),
        ({"data": [{"paragraphs": {}}]}, "data[0].paragraphs: expected a list, found dict"),
        ({"data": [{"paragraphs": [{"qas": []}]}]}, "data[0].paragraphs[0].context: expected a string, found null"),
        (
            {"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "x", "question": "q", "answers": []}]}]}]},
            "qas[0].answers: no reference answers",
        ),
        (
            {
                "data": [
                    {"paragraphs": [{"context": "c", "qas": [{"id": "x", "question": "q", "answers": [{"text": 5}]}]}]}
                ]
            },
            "qas[0].answers[0].text: expected a string, found int",
        ),
        (
            {
                "data": [
                    {
                        "paragraphs": [
                            {
                                "context": "c",
                                "qas": [
                                    {"id": "x", "question": "q", "answers": [{"text": "a"}]},
                                    {"id": "x", "question": "q", "answers": [{"text": "a"}]},
                                ],
                            }
                        ]
                    }
                ]
            },
            "qas[1].id: 'x' appears twice",
        ),
    ],
)
def test_a_malformed_document_is_rejected_at_the_bad_place(document: Any, message: str) -> None:
    with pytest.raises(DatasetError, match=r"^doc: ") as caught:
        parse_squad(document, "doc")
    assert message in str(caught.value)


def test_files_are_read_gzipped_or_not_whatever_their_name(tmp_path: Path, sample: SquadDataset) -> None:
    document = squad_document(sample.questions[:5])
    (tmp_path / "plain.json").write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "packed.json").write_bytes(gzip.compress(json.dumps(document).encode()))
    assert load_file(tmp_path / "plain.json").questions == load_file(tmp_path / "packed.json").questions
    (tmp_path / "bad.json").write_text('{"data": [', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.json:1:11: not valid JSON"):
        load_file(tmp_path / "bad.json")


def test_the_shipped_sample_is_the_documented_subset_of_the_dev_set(sample: SquadDataset, dev_set_path: Path) -> None:
    expected = build_sample(json.loads(gzip.decompress(dev_set_path.read_bytes())))
    resource = importlib.resources.files("bedrockgate.evals").joinpath("data", SAMPLE_RESOURCE)
    shipped = json.loads(gzip.decompress(resource.read_bytes()))
    assert shipped == expected
    assert shipped["license"] == "CC BY-SA 4.0"
    assert shipped["attribution"] == ATTRIBUTION
    assert 300 <= len(sample.questions) <= 400
    notice = importlib.resources.files("bedrockgate.evals").joinpath("data", "NOTICE.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in notice
    assert "Rajpurkar" in notice


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32), samples=st.integers(1, 60), offset=st.integers(0, 100))
def test_sampling_is_deterministic_ordered_and_offsets_are_disjoint(
    sample: SquadDataset, seed: int, samples: int, offset: int
) -> None:
    pool = sample.questions[:150]
    first = select(pool, samples=samples, offset=offset, seed=seed)
    assert first == select(list(reversed(pool)), samples=samples, offset=offset, seed=seed)  # not the file order
    assert [q.position for q in first] == sorted(q.position for q in first)
    assert len(first) == min(samples, len(pool) - offset)
    following = (
        select(pool, samples=samples, offset=offset + samples, seed=seed) if offset + samples < len(pool) else []
    )
    assert not {q.id for q in first} & {q.id for q in following}
    both = select(pool, samples=2 * samples, offset=offset, seed=seed)
    assert {q.id for q in both} == {q.id for q in first} | {q.id for q in following}


def test_sampling_rejects_impossible_requests(sample: SquadDataset) -> None:
    with pytest.raises(ConfigError, match="--samples must be at least 1"):
        select(sample.questions, samples=0)
    with pytest.raises(ConfigError, match="skips every question"):
        select(sample.questions, samples=5, offset=len(sample.questions))


def _hub_rows(questions: tuple[Question, ...]) -> list[dict[str, Any]]:
    return [
        {
            "id": q.id,
            "title": q.title,
            "context": q.context,
            "question": q.question,
            "answers": {"text": list(q.answers), "answer_start": list(q.answer_starts)},
        }
        for q in questions
    ]


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_hub_layout_rows_load_through_datasets(tmp_path: Path, sample: SquadDataset, suffix: str) -> None:
    datasets = pytest.importorskip("datasets")
    path = tmp_path / f"squad-validation{suffix}"
    rows = datasets.Dataset.from_list(_hub_rows(sample.questions))
    if suffix == ".parquet":
        rows.to_parquet(str(path))
    else:
        rows.to_json(str(path), lines=True)
    loaded = load_source(str(path))
    assert loaded.questions == sample.questions
    assert loaded.info.source == "file"
    assert loaded.info.sha256


def test_hub_layout_rows_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(
        json.dumps({"id": "x", "title": "t", "context": "c", "question": "q", "answers": {"text": []}}) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(DatasetError, match=r"row 0\.answers\.text: expected a non-empty list of strings"):
        load_source(str(path))


def test_the_hub_offline_is_a_clear_error_when_asked_for_by_name() -> None:
    started = time.monotonic()
    with pytest.raises(HubUnavailableError) as caught:
        load_source("squad")
    message = str(caught.value)
    assert "cannot load 'rajpurkar/squad' from the Hugging Face Hub" in message
    assert "--dataset sample" in message
    assert time.monotonic() - started < 30


def test_auto_falls_back_to_the_shipped_sample_and_says_so() -> None:
    dataset = load_source("auto")
    assert dataset.info.source == "sample"
    assert dataset.info.note is not None
    assert "scored the" in dataset.info.note
    assert "--dataset squad" in dataset.info.note


@pytest.fixture
def unreachable_hub(monkeypatch: pytest.MonkeyPatch) -> str:
    """HF_ENDPOINT at a loopback port nothing listens on, with offline mode and proxies off."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    return f"127.0.0.1:{port}"


def test_auto_does_not_wait_for_an_unreachable_hub(unreachable_hub: str) -> None:
    started = time.monotonic()
    dataset = load_source("auto")
    assert time.monotonic() - started < 5
    assert dataset.info.note is not None
    assert f"({unreachable_hub}) is not reachable" in dataset.info.note


def test_an_unreachable_hub_asked_for_by_name_fails_at_once(unreachable_hub: str) -> None:
    started = time.monotonic()
    with pytest.raises(HubUnavailableError, match="set HF_HUB_OFFLINE=1 to use a cached copy"):
        load_source("hub:rajpurkar/squad")
    assert time.monotonic() - started < 5
