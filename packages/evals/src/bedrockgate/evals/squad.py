r"""The official SQuAD v1.1 scoring, vendored so that every number matches the official script's.

Source: ``evaluate-v1.1.py``, "Official evaluation script for v1.1 of the SQuAD dataset", from
https://rajpurkar.github.io/SQuAD-explorer/ (also copied verbatim as
``metrics/squad/compute_score.py`` in huggingface/evaluate). The functions below are that script
with type annotations and precompiled constants, and nothing else changed, because each quirk
moves the totals:

- normalisation is ``lower``, then removing ``string.punctuation`` (ASCII only: "—" or "“"
  stay), then ``\b(a|an|the)\b`` (Unicode word boundaries), then collapsing whitespace;
- F1 is 0 when no token is shared, so two answers that both normalise to nothing score EM 1 and
  F1 0 (the v2.0 script differs here);
- each question takes the maximum over its reference answers;
- totals are summed in dataset order and scaled to 0-100, and a question with no prediction
  scores 0 but still counts.

Why vendored rather than imported: HF ``evaluate.load("squad")`` fetches this same script from the
Hub at run time, which a CI runner without network cannot do.

    >>> normalize_answer("The  Denver Broncos!")
    'denver broncos'
    >>> exact_match_score("the Broncos", "Broncos"), round(f1_score("Denver Broncos", "Broncos"), 4)
    (True, 0.6667)
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

__all__ = [
    "exact_match_score",
    "f1_score",
    "metric_max_over_ground_truths",
    "normalize_answer",
    "score_articles",
]

_Score = TypeVar("_Score", bool, float)

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace."""

    def remove_articles(text: str) -> str:
        return _ARTICLES.sub(" ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        return "".join(ch for ch in text if ch not in _PUNCTUATION)

    def lower(text: str) -> str:
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def f1_score(prediction: str, ground_truth: str) -> float:
    """Token-overlap F1 of the normalised answers, 0-1; 0 when they share no token (even both empty)."""
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        # The script returns the int 0; 0.0 adds to the running float sums identically.
        return 0.0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def exact_match_score(prediction: str, ground_truth: str) -> bool:
    """True when the normalised answers are equal."""
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def metric_max_over_ground_truths(
    metric_fn: Callable[[str, str], _Score], prediction: str, ground_truths: Sequence[str]
) -> _Score:
    """The best score of the prediction against any reference answer."""
    scores_for_ground_truths = []
    for ground_truth in ground_truths:
        score = metric_fn(prediction, ground_truth)
        scores_for_ground_truths.append(score)
    return max(scores_for_ground_truths)


def score_articles(
    questions: Iterable[tuple[str, Sequence[str]]], predictions: Mapping[str, str]
) -> tuple[dict[str, float], list[str]]:
    """The script's ``evaluate``: ``{"exact_match", "f1"}`` over ``(question id, references)`` in dataset order.

    Also returns the ids that have no prediction, which the script prints one by one to stderr;
    they score 0 and count in the total. An empty question list raises ``ZeroDivisionError``, as
    the script does; callers check for it first.
    """
    f1 = 0.0
    exact_match = total = 0
    unanswered: list[str] = []
    for question_id, ground_truths in questions:
        total += 1
        if question_id not in predictions:
            unanswered.append(question_id)
            continue
        prediction = predictions[question_id]
        exact_match += metric_max_over_ground_truths(exact_match_score, prediction, ground_truths)
        f1 += metric_max_over_ground_truths(f1_score, prediction, ground_truths)

    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}, unanswered
