"""SQuAD v1.1 questions: the record the suite works on, and the official JSON format in and out.

The official format (``{"version": "1.1", "data": [{"title", "paragraphs": [{"context", "qas":
[{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}``) is what the official scoring
script reads, so a run writes its sample in it: anyone can rescore a run's ``predictions.json``
with the official script and get the report's numbers.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrockgate.evals.exceptions import DatasetError

__all__ = [
    "ATTRIBUTION",
    "LICENSE",
    "DatasetInfo",
    "Question",
    "SquadDataset",
    "parse_squad",
    "read_json_document",
    "squad_document",
]

LICENSE = "CC BY-SA 4.0"
ATTRIBUTION = (
    "SQuAD v1.1 (Rajpurkar, Zhang, Lopyrev and Liang, 2016, 'SQuAD: 100,000+ Questions for Machine "
    "Comprehension of Text'), https://rajpurkar.github.io/SQuAD-explorer/, licensed CC BY-SA 4.0 "
    "(https://creativecommons.org/licenses/by-sa/4.0/)."
)


@dataclass(frozen=True, slots=True)
class Question:
    """One question with its passage and reference answers."""

    id: str
    title: str
    context: str
    question: str
    answers: tuple[str, ...]
    """Reference answer texts in dataset order; duplicates are kept, as the official script keeps them."""
    answer_starts: tuple[int, ...]
    position: int
    """The question's place in its source dataset: reports and totals follow this order."""

    @property
    def digest(self) -> str:
        """A short hash of what the model is shown and scored against; a checkpoint reuses an answer only on a match."""
        payload = json.dumps([self.context, self.question, list(self.answers)], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """Where the questions came from, precisely enough to reproduce a run."""

    source: str
    """``sample`` (shipped with this package), ``file`` or ``hub``."""
    name: str
    revision: str | None
    """The Hub commit, the package version for the sample, or ``None`` for a file (see ``sha256``)."""
    sha256: str | None
    """Of the file read (the sample file, a local file); ``None`` for Hub data."""
    split: str | None = None
    path: str | None = None
    note: str | None = None
    """Anything the user must know, such as a fallback from the Hub to the sample."""
    license: str = LICENSE
    attribution: str = ATTRIBUTION


@dataclass(frozen=True, slots=True)
class SquadDataset:
    """Questions in dataset order, and where they came from."""

    questions: tuple[Question, ...]
    info: DatasetInfo


def read_json_document(path: Path) -> tuple[Any, str]:
    """A JSON file, gzip-compressed or not (decided by its first bytes, not its name), and its sha256."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DatasetError(f"{path}: cannot read the file ({error.strerror or error})") from error
    digest = hashlib.sha256(raw).hexdigest()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DatasetError(f"{path}: the file looks gzip-compressed but does not decompress ({error})") from error
    try:
        return json.loads(raw.decode("utf-8")), digest
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 text at byte {error.start}") from error
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})") from error


def parse_squad(document: Any, source: str, *, unique_ids: bool = True) -> list[Question]:
    """The questions of a SQuAD v1.1 document, in order; a :class:`DatasetError` names the first bad place.

    ``unique_ids`` is for runs, whose answers are keyed by question id; the official scoring
    script tolerates repeated ids (each occurrence counts), so ``score`` turns it off.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("data"), list):
        raise DatasetError(f'{source}: not a SQuAD v1.1 file: expected an object with a "data" list of articles')
    questions: list[Question] = []
    seen: set[str] = set()
    for a, article in enumerate(document["data"]):
        where = f"data[{a}]"
        article_map = _mapping(article, source, where)
        title = article_map.get("title", "")
        if not isinstance(title, str):
            raise DatasetError(f"{source}: {where}.title: expected a string")
        for p, paragraph in enumerate(_list(article_map.get("paragraphs"), source, f"{where}.paragraphs")):
            p_where = f"{where}.paragraphs[{p}]"
            paragraph_map = _mapping(paragraph, source, p_where)
            context = _string(paragraph_map.get("context"), source, f"{p_where}.context")
            for q, qa in enumerate(_list(paragraph_map.get("qas"), source, f"{p_where}.qas")):
                q_where = f"{p_where}.qas[{q}]"
                qa_map = _mapping(qa, source, q_where)
                question_id = _string(qa_map.get("id"), source, f"{q_where}.id")
                if unique_ids and question_id in seen:
                    raise DatasetError(f"{source}: {q_where}.id: {question_id!r} appears twice; ids must be unique")
                seen.add(question_id)
                texts, starts = _answers(qa_map.get("answers"), source, f"{q_where}.answers")
                questions.append(
                    Question(
                        id=question_id,
                        title=title,
                        context=context,
                        question=_string(qa_map.get("question"), source, f"{q_where}.question"),
                        answers=texts,
                        answer_starts=starts,
                        position=len(questions),
                    )
                )
    return questions


def squad_document(questions: Iterable[Question], *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Questions as a SQuAD v1.1 document.

    Consecutive questions with the same title share an article, with the same context a paragraph.
    """
    data: list[dict[str, Any]] = []
    for question in questions:
        if not data or data[-1]["title"] != question.title:
            data.append({"title": question.title, "paragraphs": []})
        paragraphs = data[-1]["paragraphs"]
        if not paragraphs or paragraphs[-1]["context"] != question.context:
            paragraphs.append({"context": question.context, "qas": []})
        paragraphs[-1]["qas"].append(
            {
                "id": question.id,
                "question": question.question,
                "answers": [
                    {"text": text, "answer_start": start}
                    for text, start in zip(question.answers, question.answer_starts, strict=True)
                ],
            }
        )
    return {"version": "1.1", **(extra or {}), "data": data}


def _mapping(value: Any, source: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DatasetError(f"{source}: {where}: expected an object, found {_kind(value)}")
    return value


def _list(value: Any, source: str, where: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise DatasetError(f"{source}: {where}: expected a list, found {_kind(value)}")
    return value


def _string(value: Any, source: str, where: str) -> str:
    if not isinstance(value, str):
        raise DatasetError(f"{source}: {where}: expected a string, found {_kind(value)}")
    return value


def _answers(value: Any, source: str, where: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    answers = _list(value, source, where)
    if not answers:
        raise DatasetError(
            f"{source}: {where}: no reference answers; SQuAD v1.1 scoring needs at least one per question"
        )
    texts: list[str] = []
    starts: list[int] = []
    for index, answer in enumerate(answers):
        answer_map = _mapping(answer, source, f"{where}[{index}]")
        texts.append(_string(answer_map.get("text"), source, f"{where}[{index}].text"))
        start = answer_map.get("answer_start", -1)
        starts.append(start if isinstance(start, int) and not isinstance(start, bool) else -1)
    return tuple(texts), tuple(starts)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
