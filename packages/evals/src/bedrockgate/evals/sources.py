"""Where questions come from: the sample shipped in this package, a local file, or the Hugging Face Hub.

``--dataset`` takes:

- ``auto`` (the default): SQuAD v1.1 validation from the Hub when it can be reached, otherwise the
  shipped sample, with a note in the output and in ``results.json`` saying so;
- ``sample``: the shipped sample (a few hundred dev questions, CC BY-SA 4.0), for machines with no
  network at all;
- ``squad`` or ``hub:OWNER/NAME``: the Hub only; if it cannot be reached the run stops (exit 2)
  instead of quietly scoring something else, which is what a release gate wants;
- a path: an official SQuAD v1.1 JSON file (gzip or not, e.g. ``dev-v1.1.json.gz``), or rows in
  the Hub's own layout (``.parquet``, ``.jsonl``; ``id, title, context, question, answers{text,
  answer_start}``), such as a Hub copy exported for an air-gapped machine.

``datasets`` is imported only for the Hub and row files: it takes seconds to import.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import importlib.resources
import os
import re
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bedrockgate.evals.dataset import DatasetInfo, Question, SquadDataset, parse_squad, read_json_document
from bedrockgate.evals.exceptions import DatasetError, HubUnavailableError

__all__ = [
    "DEFAULT_HUB_DATASET",
    "SAMPLE_RESOURCE",
    "load_sample",
    "load_source",
]

DEFAULT_HUB_DATASET = "rajpurkar/squad"
SAMPLE_RESOURCE = "squad-v1.1-dev-sample.json.gz"
_HUB_ALIASES = {"squad": DEFAULT_HUB_DATASET}
_ROW_FORMATS = {".parquet": "parquet", ".jsonl": "json", ".ndjson": "json"}
_TRUE = {"1", "ON", "YES", "TRUE"}
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
_COMMIT = re.compile(r"[0-9a-f]{40}")


def load_source(spec: str, *, revision: str | None = None, split: str = "validation") -> SquadDataset:
    """The questions ``spec`` names (see the module documentation for the forms it takes)."""
    if spec == "sample":
        return load_sample()
    if spec == "auto":
        return _auto(revision, split)
    if spec in _HUB_ALIASES or spec.startswith("hub:"):
        return load_hub(_HUB_ALIASES.get(spec) or spec.removeprefix("hub:"), revision=revision, split=split)
    return load_file(Path(spec))


def load_sample() -> SquadDataset:
    """The few hundred SQuAD v1.1 dev questions shipped inside this package."""
    resource = importlib.resources.files("bedrockgate.evals").joinpath("data", SAMPLE_RESOURCE)
    with importlib.resources.as_file(resource) as path:
        document, digest = read_json_document(path)
        questions = parse_squad(document, f"<bedrockgate.evals sample {SAMPLE_RESOURCE}>")
    version = importlib.metadata.version("bedrockgate-evals")
    info = DatasetInfo(
        source="sample",
        name=f"SQuAD v1.1 dev sample ({len(questions)} questions)",
        revision=f"bedrockgate-evals {version}",
        sha256=digest,
        split="validation",
    )
    return SquadDataset(tuple(questions), info)


def load_file(path: Path) -> SquadDataset:
    """An official SQuAD v1.1 JSON file (``.json`` or ``.json.gz``), or Hub-layout rows (``.parquet``, ``.jsonl``)."""
    if path.is_dir() or not path.exists():
        what = "a directory" if path.is_dir() else "no such file"
        raise DatasetError(
            f"{path}: {what}; --dataset takes auto, sample, squad, hub:OWNER/NAME or a SQuAD v1.1 JSON/JSON.gz file"
        )
    row_format = _ROW_FORMATS.get(path.suffix.lower())
    if row_format is not None:
        return _load_rows_file(path, row_format)
    document, digest = read_json_document(path)
    questions = parse_squad(document, str(path))
    if not questions:
        raise DatasetError(f"{path}: the file holds no questions")
    return SquadDataset(
        tuple(questions), DatasetInfo(source="file", name=path.name, revision=None, sha256=digest, path=str(path))
    )


def load_hub(name: str, *, revision: str | None = None, split: str = "validation") -> SquadDataset:
    """A SQuAD-layout dataset from the Hugging Face Hub (or its local cache when ``HF_HUB_OFFLINE=1``).

    Unless offline mode is set, a quick TCP probe of the Hub comes first: without it, an unreachable
    Hub costs about 30 s of the library's retries before the same error.
    """
    unreachable = None if _hub_offline() else _hub_unreachable()
    if unreachable is not None:
        raise HubUnavailableError(
            f"cannot load {name!r}: {unreachable}; set HF_HUB_OFFLINE=1 to use a cached copy, or use "
            "--dataset sample (shipped with this package) or --dataset PATH to a SQuAD v1.1 JSON file"
        )
    datasets = _import_datasets()
    try:
        builder = datasets.load_dataset_builder(name, revision=revision)
        builder.download_and_prepare()
        rows = builder.as_dataset(split=split)
    except (ConnectionError, TimeoutError) as error:
        raise HubUnavailableError(
            f"cannot load {name!r} from the Hugging Face Hub ({_one_line(error)}); without network use "
            "--dataset sample (shipped with this package) or --dataset PATH to a SQuAD v1.1 JSON file"
        ) from error
    except Exception as error:  # the library's own errors (not found, gated, bad split) become one line
        raise DatasetError(
            f"cannot load {name!r} (split {split!r}) from the Hugging Face Hub: {_one_line(error)}"
        ) from error
    commit = builder.hash if isinstance(builder.hash, str) and _COMMIT.fullmatch(builder.hash) else None
    questions = _questions_from_rows(rows, f"hub:{name}")
    info = DatasetInfo(source="hub", name=name, revision=commit or revision, sha256=None, split=split)
    return SquadDataset(tuple(questions), info)


def _auto(revision: str | None, split: str) -> SquadDataset:
    try:
        return load_hub(DEFAULT_HUB_DATASET, revision=revision, split=split)
    except HubUnavailableError as error:
        unreachable = str(error).split(";", 1)[0]
    sample = load_sample()
    note = (
        f"{unreachable}: scored the {len(sample.questions)}-question sample shipped with bedrockgate-evals "
        f"instead of the full {DEFAULT_HUB_DATASET} {split} split (use --dataset squad to refuse this fallback)"
    )
    return SquadDataset(sample.questions, dataclasses.replace(sample.info, note=note))


def _hub_offline() -> bool:
    return any(os.environ.get(name, "").upper() in _TRUE for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the Hub cannot be reached, or ``None`` when a TCP connection to it opens.

    Without this, ``datasets`` retries an unreachable Hub for about 30 s before it gives up. Behind
    a proxy the direct connection proves nothing, so the library is left to try.
    """
    if any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return None
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        return f"the Hugging Face Hub ({host}:{port}) is not reachable ({_one_line(error)})"
    return None


def _load_rows_file(path: Path, row_format: str) -> SquadDataset:
    datasets = _import_datasets()
    try:
        rows = datasets.load_dataset(row_format, data_files=str(path), split="train")
    except Exception as error:  # the library's parse errors become one line naming the file
        raise DatasetError(f"{path}: cannot read it as {row_format} rows: {_one_line(error)}") from error
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    questions = _questions_from_rows(rows, str(path))
    return SquadDataset(
        tuple(questions), DatasetInfo(source="file", name=path.name, revision=None, sha256=digest, path=str(path))
    )


def _questions_from_rows(rows: Iterable[Any], source: str) -> list[Question]:
    """Hub-layout rows (one per question) as questions; the same checks as the official JSON gets."""
    questions: list[Question] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        where = f"row {index}"
        if not isinstance(row, Mapping):
            raise DatasetError(f"{source}: {where}: expected a record")
        fields = {}
        for key in ("id", "title", "context", "question"):
            value = row.get(key, "" if key == "title" else None)
            if not isinstance(value, str):
                raise DatasetError(
                    f"{source}: {where}.{key}: expected a string (SQuAD layout: id, title, context, question, answers)"
                )
            fields[key] = value
        answers = row.get("answers")
        texts = answers.get("text") if isinstance(answers, Mapping) else None
        if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
            raise DatasetError(f"{source}: {where}.answers.text: expected a non-empty list of strings")
        starts = answers.get("answer_start") if isinstance(answers, Mapping) else None
        if not isinstance(starts, list) or len(starts) != len(texts):
            starts = [-1] * len(texts)
        if fields["id"] in seen:
            raise DatasetError(f"{source}: {where}.id: {fields['id']!r} appears twice; ids must be unique")
        seen.add(fields["id"])
        questions.append(
            Question(
                id=fields["id"],
                title=fields["title"],
                context=fields["context"],
                question=fields["question"],
                answers=tuple(texts),
                answer_starts=tuple(start if isinstance(start, int) else -1 for start in starts),
                position=index,
            )
        )
    if not questions:
        raise DatasetError(f"{source}: no questions")
    return questions


def _import_datasets() -> Any:
    try:
        # Imported here, not at the top: it takes seconds, and only these two paths need it.
        import datasets  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError as error:  # a trimmed install: say what to add
        raise DatasetError(
            f"loading from the Hub or row files needs the datasets library: pip install datasets ({error})"
        ) from error
    return datasets


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
