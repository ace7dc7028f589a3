"""``score``: the official script's inputs in, the official script's output out.

The official script reads, from the dataset, only ``version``, and ``id`` and ``answers[].text``
of every question; from the predictions, a ``{question_id: answer}`` object. This reads exactly
those (titles, contexts and questions may be anything), so it scores every input the script
scores, to the same bits. Where the script would crash (a prediction that is not a string, a
question without answers, no questions at all), this says why instead. The script prints one
stderr line per unanswered question; this prints one line with the count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrockgate.evals.dataset import read_json_document
from bedrockgate.evals.exceptions import DatasetError
from bedrockgate.evals.squad import score_articles

__all__ = ["ScoreOutcome", "score_files"]

EXPECTED_VERSION = "1.1"


@dataclass(frozen=True, slots=True)
class ScoreOutcome:
    """The official numbers and what the script would have said on stderr."""

    scores: dict[str, float]
    unanswered: list[str]
    warnings: list[str]


def score_files(dataset_path: Path, predictions_path: Path) -> ScoreOutcome:
    """Score a predictions file against a SQuAD v1.1 dataset file (plain or gzip JSON)."""
    dataset, _ = read_json_document(dataset_path)
    predictions, _ = read_json_document(predictions_path)
    warnings = []
    if not isinstance(dataset, Mapping) or not isinstance(dataset.get("data"), list):
        raise DatasetError(f'{dataset_path}: not a SQuAD v1.1 file: expected an object with a "data" list of articles')
    version = dataset.get("version")
    if version != EXPECTED_VERSION:
        warnings.append(f"Evaluation expects v-{EXPECTED_VERSION}, but got dataset with v-{version}")
    if not isinstance(predictions, Mapping):
        raise DatasetError(f"{predictions_path}: expected a JSON object of question id to answer text")
    items = _questions(dataset["data"], dataset_path, predictions, predictions_path)
    if not items:
        raise DatasetError(f"{dataset_path}: the dataset has no questions to score")
    scores, unanswered = score_articles(items, predictions)
    return ScoreOutcome(scores, unanswered, warnings)


def _questions(
    articles: list[Any], dataset_path: Path, predictions: Mapping[str, Any], predictions_path: Path
) -> list[tuple[str, list[str]]]:
    items: list[tuple[str, list[str]]] = []
    for a, article in enumerate(articles):
        paragraphs = article.get("paragraphs") if isinstance(article, Mapping) else None
        if not isinstance(paragraphs, list):
            raise DatasetError(f"{dataset_path}: data[{a}].paragraphs: expected a list")
        for p, paragraph in enumerate(paragraphs):
            qas = paragraph.get("qas") if isinstance(paragraph, Mapping) else None
            if not isinstance(qas, list):
                raise DatasetError(f"{dataset_path}: data[{a}].paragraphs[{p}].qas: expected a list")
            for q, qa in enumerate(qas):
                where = f"data[{a}].paragraphs[{p}].qas[{q}]"
                identifier = qa.get("id") if isinstance(qa, Mapping) else None
                if not isinstance(identifier, str):
                    raise DatasetError(f"{dataset_path}: {where}.id: expected a string")
                answers = qa.get("answers")
                texts = (
                    [answer.get("text") if isinstance(answer, Mapping) else None for answer in answers]
                    if isinstance(answers, list)
                    else None
                )
                if identifier in predictions:
                    if not texts or not all(isinstance(text, str) for text in texts):
                        raise DatasetError(
                            f'{dataset_path}: {where}.answers: expected a non-empty list of {{"text": ...}} objects'
                        )
                    prediction = predictions[identifier]
                    if not isinstance(prediction, str):
                        kind = type(prediction).__name__
                        raise DatasetError(
                            f"{predictions_path}: the prediction for {identifier!r} is {kind}, not a string"
                        )
                items.append((identifier, [text for text in texts or [] if isinstance(text, str)]))
    return items
